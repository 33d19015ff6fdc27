export { type Command, UsageError, helpText } from './command.js';
