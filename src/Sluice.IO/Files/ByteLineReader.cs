using System.Buffers;

namespace Sluice.IO.Files;

/// <summary>
/// Reads lines as raw bytes and knows the file offset where each next line starts, which a
/// <see cref="StreamReader"/> (it buffers ahead) cannot tell. Lines end as <see cref="StreamReader"/>
/// ends them: at <c>\n</c>, <c>\r</c> or <c>\r\n</c> (one terminator), so a split file yields the same
/// lines as a whole one. A UTF-8 sequence never holds those bytes, so a line's bytes always decode alone.
/// </summary>
internal sealed class ByteLineReader(Stream stream, long position)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _length;
    private int _next;

    /// <summary>The file offset of the next unread byte: after a line, where the next line starts.</summary>
    public long Position { get; private set; } = position;

    /// <summary>Reads one line into <paramref name="line"/> (null = skip it); false at the end of the file.</summary>
    public async ValueTask<bool> ReadLineAsync(ArrayBufferWriter<byte>? line, CancellationToken cancellationToken)
    {
        var any = false;
        while (true)
        {
            if (_next == _length && !await FillAsync(cancellationToken).ConfigureAwait(false)) return any;
            any = true;
            var span = _buffer.AsSpan(_next, _length - _next);
            var i = span.IndexOfAny((byte)'\n', (byte)'\r');
            if (i < 0)
            {
                line?.Write(span);
                Advance(span.Length);
                continue;
            }
            line?.Write(span[..i]);
            var cr = span[i] == (byte)'\r';
            Advance(i + 1);
            // "\r\n" is one terminator even when the buffer ends between the two bytes.
            if (cr && (_next < _length || await FillAsync(cancellationToken).ConfigureAwait(false)) && _buffer[_next] == (byte)'\n') Advance(1);
            return true;
        }
    }

    /// <summary>Skips a UTF-8 byte order mark at the start of the file, as <see cref="StreamReader"/> does.</summary>
    public async ValueTask SkipUtf8BomAsync(CancellationToken cancellationToken)
    {
        if (_next == _length) await FillAsync(cancellationToken).ConfigureAwait(false);
        if (_length - _next >= 3 && _buffer.AsSpan(_next, 3).SequenceEqual("\uFEFF"u8)) Advance(3);
    }

    private void Advance(int count)
    {
        _next += count;
        Position += count;
    }

    private async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        _length = await stream.ReadAsync(_buffer, cancellationToken).ConfigureAwait(false);
        _next = 0;
        return _length > 0;
    }
}
