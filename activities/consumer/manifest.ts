/**
 * A segment: the records of one partition from a chain position to an end offset, and the objects that hold them.
 * Written create-only at the chain position, it is the claim every writer of that position adopts. In its own
 * module because the buffer holds an adopted one and the segment writer makes them.
 */
export interface Manifest {
  topic: string;
  partition: number;
  /** The chain position this segment starts at; the next one starts at end + 1. */
  start: number;
  /** The offset of the segment's last record. */
  end: number;
  records: number;
  deadLetters: number;
  objects: { key: string; records: number; firstOffset: number; lastOffset: number }[];
}
