using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Sluice.IO.Files;

/// <summary>
/// A part of a line-oriented file, [<see cref="Start"/>, <see cref="End"/>) in bytes. It owns the lines
/// that start in it (the Hadoop rule): a range that does not start the file skips the partial line it
/// starts in, and every range reads past its end to finish its last line, so each line of the file is
/// read by exactly one range whatever the cut points.
/// </summary>
internal readonly record struct LineRange(long Start, long End)
{
    /// <summary>A read task id: the file, and the range when the file is split (a whole file keeps its plain path, as before splitting).</summary>
    public static string Id(string file, LineRange? range) =>
        range is { } r ? string.Create(CultureInfo.InvariantCulture, $"{file}@{r.Start}-{r.End}") : file;

    /// <summary>Where errors point: line numbers in a later range count from its first line (counting from the file's start would read the whole prefix).</summary>
    public static string Where(string file, LineRange? range) =>
        range is { Start: > 0 } r ? string.Create(CultureInfo.InvariantCulture, $"{file} (the part from byte {r.Start})") : file;

    /// <summary>The lines this range owns, decoded with <paramref name="encoding"/>.</summary>
    public async IAsyncEnumerable<string> ReadLinesAsync(string file, Encoding encoding, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            // From the byte before Start: if it ends a line, the line at Start is ours; else its rest is the previous range's.
            var from = Start == 0 ? 0 : Start - 1;
            stream.Seek(from, SeekOrigin.Begin);
            var reader = new ByteLineReader(stream, from);
            if (Start == 0) await reader.SkipUtf8BomAsync(cancellationToken).ConfigureAwait(false);
            else if (!await reader.ReadLineAsync(null, cancellationToken).ConfigureAwait(false)) yield break;
            var line = new ArrayBufferWriter<byte>();
            // One decoder call per line, as StreamReader makes: Encoding.GetString counts, then decodes, and a
            // counting fallback would see each invalid byte twice.
            var decoder = encoding.GetDecoder();
            var chars = Array.Empty<char>();
            while (reader.Position < End)
            {
                line.ResetWrittenCount();
                if (!await reader.ReadLineAsync(line, cancellationToken).ConfigureAwait(false)) yield break;
                var most = encoding.GetMaxCharCount(line.WrittenCount);
                if (chars.Length < most) chars = new char[Math.Max(most, chars.Length * 2)];
                var n = decoder.GetChars(line.WrittenSpan, chars, flush: true);
                yield return new string(chars, 0, n);
            }
        }
    }

    /// <summary>A whole file through <see cref="StreamReader"/>, which also reads UTF-16/32 files by their byte order mark (decompressed when its name ends in .gz or .zst).</summary>
    public static async IAsyncEnumerable<string> ReadWholeFileAsync(string file, Encoding encoding, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(InputCompression.OpenRead(file), encoding, detectEncodingFromByteOrderMarks: true);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line) yield return line;
    }

    /// <summary>The lines of <paramref name="file"/> in <paramref name="range"/>, or all of them.</summary>
    public static IAsyncEnumerable<string> ReadAsync(string file, LineRange? range, Encoding encoding, CancellationToken cancellationToken) =>
        range is { } r ? r.ReadLinesAsync(file, encoding, cancellationToken) : ReadWholeFileAsync(file, encoding, cancellationToken);
}
