using Apache.Arrow;
using Sluice.Blocks;

namespace Sluice.IO.Output;

/// <summary>
/// A part file being filled in <c>.tmp/</c>, and the blocks it holds: they commit together, when the file
/// is renamed into place and its manifest line is written. The file is created with the first block that
/// has rows (and named after it); blocks without rows only join the list.
/// </summary>
internal sealed class OpenPart : IDisposable
{
    private FileStream? _stream;
    private PartWriter? _writer;

    public List<BlockLineage> Lineages { get; } = [];

    public List<FileBlock> Blocks { get; } = [];

    /// <summary>The blocks' dead letters to write (<c>on_error: dead_letter</c>), in block order: they commit with the part.</summary>
    public List<DeadLetter> DeadLetters { get; } = [];

    public long Rows { get; private set; }

    /// <summary>Arrow bytes of the blocks written into the file (for learning how the format packs them).</summary>
    public long ArrowBytes { get; private set; }

    /// <summary>The committed file's name; null while the part has no rows.</summary>
    public string? Name { get; private set; }

    public string? TmpPath { get; private set; }

    public long EstimatedBytes => _writer?.EstimatedBytes ?? 0;

    /// <param name="batch">The block's batch as the format writes it; null for a block without rows.</param>
    /// <param name="open">Creates the file's writer for the first batch.</param>
    public void Add(Block block, string key, RecordBatch? batch, Func<BlockLineage, (string Name, string Tmp)> name, Func<Stream, RecordBatch, PartWriter> open)
    {
        if (batch is not null)
        {
            if (_writer is null)
            {
                (Name, TmpPath) = name(block.Lineage);
                _stream = new FileStream(TmpPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
                _writer = open(_stream, batch);
            }
            _writer.Append(batch);
            Rows += block.Rows;
            ArrowBytes += block.Bytes;
        }
        Blocks.Add(new FileBlock(key, block.Rows));
        Lineages.Add(block.Lineage);
        DeadLetters.AddRange(block.DeadLetters.Where(d => d.Kept));
    }

    /// <summary>Completes the file and makes it durable; returns its size and SHA-256. Null when the part has no file.</summary>
    public (long Bytes, string Sha256)? Finish()
    {
        if (_writer is null || _stream is null) return null;
        _writer.Finish();
        _writer.Dispose();
        _writer = null;
        // fsync before the rename: a renamed part must never be a torn file.
        _stream.Flush(flushToDisk: true);
        // The checksum is of the bytes on disk (read back from the page cache), whatever the format's writer did.
        _stream.Position = 0;
        var written = (_stream.Length, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_stream)));
        _stream.Dispose();
        _stream = null;
        return written;
    }

    /// <summary>Closes the file without completing it and deletes it: its blocks were never committed.</summary>
    public void Discard()
    {
        Dispose();
        if (TmpPath is not null) File.Delete(TmpPath);
    }

    public void Dispose()
    {
        try
        {
            _writer?.Dispose();
        }
        finally
        {
            _writer = null;
            _stream?.Dispose();
            _stream = null;
        }
    }
}
