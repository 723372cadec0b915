namespace Sluice.IO;

/// <summary>How text files are read: one row per line in a string column <c>text</c>.</summary>
public sealed record TextOptions
{
    /// <summary>Skip empty lines instead of making empty rows.</summary>
    public bool SkipEmpty { get; init; }

    /// <summary>Bytes that are not UTF-8: replaced and reported (default), or an error.</summary>
    public InvalidUtf8 InvalidUtf8 { get; init; } = InvalidUtf8.Replace;
}
