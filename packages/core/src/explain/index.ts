export { buildHashRecord, HASH_RECORD_FORMAT, isSecretValueName, type FileList, type HashRecord } from './hash-record.js';
export { HashRecordStore, type IndexEntry } from './record-store.js';
export { diffRecords, topMissCauses, type InputChange } from './diff.js';
