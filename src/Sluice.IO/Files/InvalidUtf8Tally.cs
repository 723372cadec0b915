using System.Globalization;
using Sluice.Contracts;

namespace Sluice.IO.Files;

/// <summary>
/// A datasource's count of invalid UTF-8 across its files (read tasks run in parallel, so adds are
/// locked), and the first place it was found: the lowest file name, then part of a split file, then
/// line, so the warning is the same whichever task finished first. Parts of one file count as one file. Reset when the source is planned, so each run counts its own.
/// </summary>
internal sealed class InvalidUtf8Tally
{
    private readonly Lock _lock = new();
    private readonly HashSet<string> _files = new(StringComparer.Ordinal);
    private long _count;
    private (string File, long Start, string Where, long? Line)? _first;

    public void Reset()
    {
        lock (_lock)
        {
            _count = 0;
            _files.Clear();
            _first = null;
        }
    }

    /// <param name="file">The file.</param>
    /// <param name="start">Where the part read starts (0 for a whole file).</param>
    /// <param name="where">The file or its part, as messages name it.</param>
    /// <param name="firstLine">The first line found to hold U+FFFD (counted from the part's start), if any.</param>
    /// <param name="count">Invalid byte sequences.</param>
    public void Add(string file, long start, string where, long? firstLine, long count)
    {
        lock (_lock)
        {
            _count += count;
            _files.Add(file);
            var order = _first is not { } f ? -1
                : string.CompareOrdinal(file, f.File) is var c && c != 0 ? c
                : start != f.Start ? start.CompareTo(f.Start)
                : firstLine < f.Line ? -1 : 1;
            if (order < 0) _first = (file, start, where, firstLine);
        }
    }

    public IReadOnlyList<SourceWarning> Warnings
    {
        get
        {
            lock (_lock)
            {
                if (_first is not { } f) return [];
                var where = f.Line is { } line ? string.Create(CultureInfo.InvariantCulture, $"{f.Where} line {line}") : f.Where;
                return [new SourceWarning(
                    string.Create(CultureInfo.InvariantCulture,
                        $"{where}: bytes that are not UTF-8 were read as U+FFFD ({_count} byte sequences in {_files.Count} file{(_files.Count == 1 ? "" : "s")}); ") +
                    "convert the input to UTF-8, or read with invalid_utf8: error to refuse it",
                    _count)];
            }
        }
    }
}
