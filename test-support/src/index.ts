/** Helpers the packages' tests share. */
export { type Answer, call, type CallInit } from './http.ts';
export { checkExportList, type EntrySurface, packageOf } from './exports.ts';
