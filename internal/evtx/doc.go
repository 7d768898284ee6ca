// Package evtx reads Windows XML Event Log (.evtx) files, the format analysts
// export from Event Viewer or copy from C:\Windows\System32\winevt\Logs, and
// renders each event the way Winlogbeat 8 ships it, so that offline files and
// live shippers take the same path through Logster's normalizer.
//
// # Format
//
// A file is a 4096-byte header ("ElfFile\0": chunk count, next record id,
// flags, CRC32) followed by 64 KiB chunks. Each chunk ("ElfChnk\0") has a
// 512-byte header (first/last record numbers and identifiers, free space
// offset, CRC32 of the header and of the record data) followed by event
// records. A record ("**\0\0", size, identifier, FILETIME written, size copy
// at the end) holds the event as binary XML (MS-EVEN6 BinXml): a token
// stream of elements, attributes and text in which names are stored once
// per chunk and referenced by chunk offset, and in which the event is
// usually a template instance: a reference to a template definition (stored
// inline at its first use in the chunk) plus an array of typed substitution
// values. Values cover strings (UTF-16 and code page), signed and unsigned
// integers, floats, booleans, binary, GUIDs, size_t, FILETIME, SYSTEMTIME,
// SIDs, hexadecimal integers, arrays of all of these, and nested binary XML
// (type 0x21), which may hold template instances of its own.
//
// The Reader parses each template once per chunk and applies each record's
// values to it, producing a tree of Elements whose values keep their binary
// XML type (Value). Record exposes the System fields, EventData (named by
// the Name attribute, unnamed items as param1..N like Winlogbeat) and
// UserData, and WinlogbeatJSON renders the Winlogbeat document. Values are
// rendered as Windows renders them into event XML: GUIDs upper case in
// braces, HexInt32/HexInt64/size_t as 0x-prefixed lower-case hex, SIDs as
// S-1-..., binary as upper-case hex, times as ISO 8601 UTC with 100 ns. As
// in Windows, a substitution of an array value repeats its element once per
// item, and an element whose content is an absent optional substitution is
// not created.
//
// # Damage
//
// Reading never stops at damage it can step over; it reports it. Next returns
// records in file order and, between them, *Error values with a Kind, the
// file offset, the chunk index and the record identifier where known; Stats
// counts them. Only KindIO (the input could not be read) is fatal.
//
//   - Chunks are found by position up to the end of the file, not only up to
//     the header's chunk count, which is stale in logs that were not closed
//     cleanly (FileHeader.Dirty). Records a chunk holds past its stale free
//     space offset are read while they continue the record sequence.
//   - CRC32 mismatches of the file header, chunk header and record data are
//     reported; the chunk is still read unless WithStrictChecksums is set,
//     because logs copied while in use routinely have stale checksums while
//     their records are intact.
//   - A chunk slot without the chunk signature is reported and skipped
//     (unless it is all zero, or past the header's chunk count: unused); a
//     chunk cut short by the end of the file is reported and read as far as
//     it goes.
//   - A record with a bad signature or size is reported, and reading resumes
//     at the next record signature whose size and size copy agree. A record
//     whose size copy alone is wrong (cut off while being written) is
//     decoded anyway and returned after the report if its binary XML is
//     whole.
//   - A record whose binary XML cannot be decoded is reported and skipped;
//     the rest of the chunk is still read. Names are resolved by offset, so
//     a damaged string table in the chunk header does not matter.
//
// Hostile input cannot make the Reader panic, loop, or allocate without
// bound: every offset and length is checked against its container, every
// token consumes input, recursion (elements, templates, nested binary XML)
// is bounded by Limits.MaxDepth, template self-references are detected, the
// templates parsed per chunk are bounded in number and total size, and the
// elements and text materialised are bounded per record and per chunk
// (Limits). Memory is one 64 KiB chunk buffer plus that chunk's parsed
// templates, whatever the file size.
package evtx
