using Sluice.Contracts;

namespace Sluice.IO;

/// <summary>How text files are read: one row per line in a string column <c>text</c>.</summary>
public sealed record TextOptions
{
    /// <summary>Skip empty lines instead of making empty rows.</summary>
    public bool SkipEmpty { get; init; }

    /// <summary>Bytes that are not UTF-8: replaced and reported (default), or an error.</summary>
    public InvalidUtf8 InvalidUtf8 { get; init; } = InvalidUtf8.Replace;

    /// <summary>
    /// A file larger than this is read as several tasks of line-aligned byte ranges (each line read once),
    /// so one big file is read in parallel and resumed by parts. Changing it changes the read task ids:
    /// a resume must keep it.
    /// </summary>
    [ByteSize]
    public long SplitBytes { get; init; } = Files.LineSplits.DefaultSplitBytes;
}
