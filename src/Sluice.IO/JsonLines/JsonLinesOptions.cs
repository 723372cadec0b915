namespace Sluice.IO;

/// <summary>How JSON Lines files are read (one object per line, blank lines skipped).</summary>
public sealed record JsonLinesOptions
{
    /// <summary>Bytes that are not UTF-8: replaced and reported (default), or an error.</summary>
    public InvalidUtf8 InvalidUtf8 { get; init; } = InvalidUtf8.Replace;
}
