namespace Sluice.IO;

/// <summary>How text files are read: one row per line.</summary>
public sealed record TextOptions
{
    /// <summary>Skip empty lines (a line of only whitespace is not empty).</summary>
    public bool SkipEmpty { get; init; }
}
