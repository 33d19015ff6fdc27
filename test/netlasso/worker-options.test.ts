// The netlasso-worker command's option parsing (no processes, no GPU).
import { describe, expect, it } from 'vitest';
import { lambdaPath } from '@gossamer/algorithms';
import { netlassoOptionsFrom, parseLambdas, UsageError } from '@gossamer/cli';

describe('netlasso-worker options', () => {
  it('--lambdas: a list, or path:start,factor,count (λ = 0 first); bad input is a usage error', () => {
    expect(parseLambdas('0, 0.1,1')).toEqual([0, 0.1, 1]);
    expect(parseLambdas('path:0.05,1.25,16')).toEqual(lambdaPath({ start: 0.05, factor: 1.25, count: 16 }));
    expect(parseLambdas('path:0.05,1.25,16')[0]).toBe(0);
    for (const bad of ['', '0.1,,1', '0.1,-1', '0.1,x', 'path:0,2,3', 'path:0.1,2', 'path:0.1,2,3,4']) expect(() => parseLambdas(bad), bad).toThrow(UsageError);
  });

  it('ADMM options: only those given, validated', () => {
    expect(netlassoOptionsFrom({})).toEqual({});
    expect(
      netlassoOptionsFrom({ 'eps-abs': '1e-5', 'eps-rel': '0', rho: '2', 'max-iterations': '500', stopping: 'global', diameter: '7', balancing: true, 'newton-steps': '8', 'newton-tol': '1e-6', history: true }),
    ).toEqual({ epsAbs: 1e-5, epsRel: 0, rho: 2, maxIterations: 500, stopping: 'global', diameterBound: 7, residualBalancing: true, newton: { steps: 8, tol: 1e-6 }, history: true });
    expect(netlassoOptionsFrom({ rho0: '3', balancing: false })).toEqual({ rho0: 3 });
    expect(() => netlassoOptionsFrom({ 'eps-abs': '0' })).toThrow(/--eps-abs 0: expected a positive number/);
    expect(() => netlassoOptionsFrom({ 'max-iterations': '2.5' })).toThrow(UsageError);
    expect(() => netlassoOptionsFrom({ stopping: 'sometimes' })).toThrow(/decentralized or global/);
  });
});
