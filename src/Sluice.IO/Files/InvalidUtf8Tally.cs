using System.Globalization;
using Sluice.Contracts;

namespace Sluice.IO.Files;

/// <summary>
/// A datasource's count of invalid UTF-8 across its files (read tasks run in parallel, so adds are
/// locked), and the first place it was found: the lowest file name, then line, so the warning is the
/// same whichever task finished first. Reset when the source is planned, so each run counts its own.
/// </summary>
internal sealed class InvalidUtf8Tally
{
    private readonly Lock _lock = new();
    private long _count;
    private int _files;
    private (string File, long? Line)? _first;

    public void Reset()
    {
        lock (_lock)
        {
            _count = 0;
            _files = 0;
            _first = null;
        }
    }

    public void Add(string file, long? firstLine, long count)
    {
        lock (_lock)
        {
            _count += count;
            _files++;
            if (_first is not { } f || string.CompareOrdinal(file, f.File) < 0 || (file == f.File && firstLine < f.Line)) _first = (file, firstLine);
        }
    }

    public IReadOnlyList<SourceWarning> Warnings
    {
        get
        {
            lock (_lock)
            {
                if (_first is not { } f) return [];
                var where = f.Line is { } line ? string.Create(CultureInfo.InvariantCulture, $"{f.File} line {line}") : f.File;
                return [new SourceWarning(
                    string.Create(CultureInfo.InvariantCulture,
                        $"{where}: bytes that are not UTF-8 were read as U+FFFD ({_count} byte sequences in {_files} file{(_files == 1 ? "" : "s")}); ") +
                    "convert the input to UTF-8, or read with invalid_utf8: error to refuse it",
                    _count)];
            }
        }
    }
}
