using System.Text;

namespace Sluice.IO.Files;

/// <summary>
/// Decodes one input file as UTF-8 while counting the byte sequences that are not UTF-8, and finds
/// the line of the first one: under <see cref="InvalidUtf8.Replace"/> they are read as U+FFFD and
/// reported to the source's <see cref="InvalidUtf8Tally"/>; under <see cref="InvalidUtf8.Error"/> the
/// read fails at that line.
/// The decoder runs ahead of the lines (a reader decodes a buffer at a time), so the count says
/// only that bad bytes were seen; the line is the first one since then that holds U+FFFD. A file
/// that also holds a genuine U+FFFD earlier in the same buffer would be located there: the count
/// stays exact, the location is the first place to look.
/// </summary>
internal sealed class Utf8Check
{
    private readonly string _file;
    private readonly LineRange? _range;
    private readonly string _where;
    private readonly InvalidUtf8 _policy;
    private readonly InvalidUtf8Tally _tally;
    private readonly CountingFallback _fallback = new();
    private long? _firstLine;
    private bool _completed;

    /// <param name="range">The part of the file read, when it is split: errors then name the part, and line numbers count from its first line.</param>
    public Utf8Check(string file, InvalidUtf8 policy, InvalidUtf8Tally tally, LineRange? range = null)
    {
        _file = file;
        _range = range;
        _where = LineRange.Where(file, range);
        _policy = policy;
        _tally = tally;
        var encoding = (Encoding)new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false).Clone();
        encoding.DecoderFallback = _fallback;
        Encoding = encoding;
    }

    /// <summary>The encoding to read the file with (one per file: it counts).</summary>
    public Encoding Encoding { get; }

    /// <summary>Checks a decoded line (or a row's fields) with its 1-based line number.</summary>
    public void Check(string text, long line)
    {
        if (_firstLine is not null || _fallback.Count == 0 || !text.Contains('\uFFFD', StringComparison.Ordinal)) return;
        _firstLine = line;
        if (_policy == InvalidUtf8.Error)
        {
            throw new BadInputException(
                $"{_where} line {line}: bytes that are not UTF-8; convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8) " +
                "or read with invalid_utf8: replace to take them as U+FFFD");
        }
    }

    /// <summary>Reports the file's count to the tally; call once, when the file is read (or abandoned).</summary>
    public void Complete()
    {
        if (_completed) return;
        _completed = true;
        if (_fallback.Count > 0) _tally.Add(_file, _range?.Start ?? 0, _where, _firstLine, _fallback.Count);
    }

    private sealed class CountingFallback : DecoderFallback
    {
        private long _count;

        public long Count => Interlocked.Read(ref _count);

        public override int MaxCharCount => 1;

        public override DecoderFallbackBuffer CreateFallbackBuffer() => new Buffer(this);

        private sealed class Buffer(CountingFallback owner) : DecoderFallbackBuffer
        {
            private int _remaining;

            public override int Remaining => _remaining;

            public override bool Fallback(byte[] bytesUnknown, int index)
            {
                Interlocked.Increment(ref owner._count);
                _remaining = 1;
                return true;
            }

            public override char GetNextChar()
            {
                if (_remaining == 0) return '\0';
                _remaining--;
                return '\uFFFD';
            }

            public override bool MovePrevious()
            {
                if (_remaining != 0) return false;
                _remaining = 1;
                return true;
            }

            public override void Reset() => _remaining = 0;
        }
    }
}
