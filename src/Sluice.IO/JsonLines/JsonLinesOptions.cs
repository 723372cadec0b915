using Sluice.Contracts;

namespace Sluice.IO;

/// <summary>How JSON Lines files are read (one object per line, blank lines skipped).</summary>
public sealed record JsonLinesOptions
{
    /// <summary>Bytes that are not UTF-8: replaced and reported (default), or an error.</summary>
    public InvalidUtf8 InvalidUtf8 { get; init; } = InvalidUtf8.Replace;

    /// <summary>
    /// A file larger than this is read as several tasks of line-aligned byte ranges (each line read once).
    /// Each part infers its schema from its own first block, as each file does. Changing it changes the
    /// read task ids: a resume must keep it.
    /// </summary>
    [ByteSize]
    public long SplitBytes { get; init; } = Files.LineSplits.DefaultSplitBytes;
}
