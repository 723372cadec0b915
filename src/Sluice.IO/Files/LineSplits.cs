using System.Globalization;

namespace Sluice.IO.Files;

/// <summary>
/// Cuts line-oriented files (text, JSON Lines) into <see cref="LineRange"/>s of about a split size, so
/// one large file becomes several read tasks: they read in parallel, and a resumed job re-reads only
/// the parts not yet committed. Cuts depend only on the file's length and the split size, so the same
/// input and spec give the same read task ids on every run.
/// </summary>
internal static class LineSplits
{
    /// <summary>Bytes per read task by default: large enough that opening a part is noise, small enough that many cores share a file.</summary>
    public const long DefaultSplitBytes = 32L * 1024 * 1024;

    /// <summary>The file's ranges; null = read it whole (it is not larger than one split, or it is UTF-16/32, whose line ends are not single bytes).</summary>
    public static IReadOnlyList<LineRange>? Of(string file, long length, long splitBytes)
    {
        if (length <= splitBytes || InputCompression.IsCompressed(file) || IsWideUnicode(file)) return null;
        var parts = (int)Math.Min(int.MaxValue, (length + splitBytes - 1) / splitBytes);
        var ranges = new List<LineRange>(parts);
        for (var i = 0; i < parts; i++) ranges.Add(new LineRange(Cut(length, parts, i), Cut(length, parts, i + 1)));
        return ranges;
    }

    /// <summary>The read tasks and a sentence on them, for <see cref="Contracts.SourceEstimate"/>.</summary>
    public static (int Tasks, string Splitting) Describe(IReadOnlyList<string> files, long splitBytes)
    {
        var tasks = 0;
        var split = 0;
        foreach (var file in files)
        {
            var n = Of(file, new FileInfo(file).Length, splitBytes)?.Count ?? 1;
            tasks += n;
            if (n > 1) split++;
        }
        var inv = CultureInfo.InvariantCulture;
        return (tasks, split == 0
            ? string.Create(inv, $"one read task per file ({files.Count} file{(files.Count == 1 ? "" : "s")}, none over the split size of {Mib(splitBytes)})")
            : string.Create(inv, $"{files.Count} file{(files.Count == 1 ? "" : "s")} in {tasks} line-aligned byte ranges of at most {Mib(splitBytes)} ({split} file{(split == 1 ? "" : "s")} split)"));
    }

    /// <summary>
    /// The source's size: bytes from the files, rows from the lines in the first 64 KiB of the first file
    /// (exact when that is all the input). A sample, not a count: it sizes blocks, nothing more.
    /// </summary>
    public static Contracts.SourceEstimate Estimate(IReadOnlyList<string> files, long splitBytes, string? note = null)
    {
        var bytes = files.Sum(f => new FileInfo(f).Length);
        var (tasks, splitting) = Describe(files, splitBytes);
        if (InputCompression.Describe(files) is { } compressed) splitting = $"{splitting}; {compressed}";
        return new Contracts.SourceEstimate(bytes, EstimateRows(files, bytes), tasks, note is null ? splitting : $"{splitting}; {note}");
    }

    private static long? EstimateRows(IReadOnlyList<string> files, long totalBytes)
    {
        if (files.Count == 0 || totalBytes == 0) return totalBytes == 0 ? 0 : null;
        const int sampleBytes = 64 * 1024;
        if (InputCompression.IsCompressed(files[0])) return EstimateCompressedRows(files[0], totalBytes, sampleBytes);
        using var stream = File.OpenRead(files[0]);
        var sample = new byte[Math.Min(sampleBytes, stream.Length)];
        var n = stream.ReadAtLeast(sample, sample.Length, throwOnEndOfStream: false);
        var lines = CountLines(sample.AsSpan(0, n));
        if (n == totalBytes) return lines;
        // The sample's last line may be cut: it still counts, a one-line error on 64 KiB is well under what sizing needs.
        return lines == 0 ? null : (long)Math.Ceiling(totalBytes * (double)lines / n);
    }

    /// <summary>
    /// Rows of compressed input: lines in the first 64 KiB decompressed, scaled by the compressed bytes that took
    /// (the file stream's position; it reads ahead a buffer, so small files come out exact and large ones close).
    /// </summary>
    private static long? EstimateCompressedRows(string file, long totalBytes, int sampleBytes)
    {
        using var raw = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 12);
        using var stream = InputCompression.Wrap(file, raw);
        var sample = new byte[sampleBytes];
        var n = stream.ReadAtLeast(sample, sample.Length, throwOnEndOfStream: false);
        var lines = CountLines(sample.AsSpan(0, n));
        if (n < sample.Length && raw.Position == totalBytes) return lines;
        return lines == 0 || raw.Position == 0 ? null : (long)Math.Ceiling(totalBytes * (double)lines / raw.Position);
    }

    /// <summary>Lines as <see cref="ByteLineReader"/> reads them: terminators (<c>\r\n</c> once), plus an unterminated last line.</summary>
    private static long CountLines(ReadOnlySpan<byte> bytes)
    {
        long lines = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n' || (bytes[i] == (byte)'\r' && (i + 1 == bytes.Length || bytes[i + 1] != (byte)'\n'))) lines++;
        }
        return bytes.Length > 0 && bytes[^1] is not ((byte)'\n' or (byte)'\r') ? lines + 1 : lines;
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.##} MiB");

    // Even cuts (not splitBytes, splitBytes, ..., a small rest), so no task is a sliver.
    private static long Cut(long length, int parts, int i) => (long)((Int128)length * i / parts);

    private static bool IsWideUnicode(string file)
    {
        Span<byte> head = stackalloc byte[4];
        using var stream = InputCompression.OpenRead(file, 1 << 12);
        var n = stream.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        head = head[..n];
        return head.StartsWith(new byte[] { 0xFF, 0xFE }) || head.StartsWith(new byte[] { 0xFE, 0xFF }) || head.StartsWith(new byte[] { 0, 0, 0xFE, 0xFF });
    }
}
