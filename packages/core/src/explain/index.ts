export { buildHashRecord, HASH_RECORD_FORMAT, isSecretValueName, parseFileList, parseHashRecord, type FileList, type HashRecord } from './hash-record.js';
export { BucketRecords, type ExplainObjects } from './bucket-records.js';
export { HashRecordStore, type IndexEntry } from './record-store.js';
export { diffRecords, topMissCauses, type InputChange } from './diff.js';
