export { QueryEngine } from './engine';
export { glueAccessDenied, QueryFailure } from './errors';
export { statementTypeOf } from './sql-text';
export type {
  ObjectSource,
  QueryEngineOptions,
  QueryOutcome,
  QueryRequest,
  ResultColumn,
  StatementType,
  StoredObject,
  TableCatalog,
  TableLookup,
} from './types';
