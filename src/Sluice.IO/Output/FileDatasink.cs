using System.Security.Cryptography;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.IO.Output;

/// <summary>
/// The exactly-once protocol shared by file sinks; a format only writes one file from a batch.
/// A block is written to <c>.tmp/</c>, fsynced, renamed to <c>part-{task:D5}-{taskHash}-{seq:D5}.ext</c>,
/// and then recorded in <c>_manifest.jsonl</c> with its size and SHA-256. A kill between rename and
/// record leaves an orphan part that the resumed job rewrites with identical content (the name comes
/// from the block's lineage). The task index keeps parts in input order; the hash of the task's
/// stable id keeps two read tasks from ever sharing a name, whatever their indices.
/// The output directory is locked (<see cref="OutputLock"/>) from open until complete or abort.
/// </summary>
internal abstract partial class FileDatasink(string directory) : Datasink, IDisposable
{
    private const string TmpDir = ".tmp";
    private const string SuccessFile = "_SUCCESS";

    // Guards the manifest, its in-memory sets and the lock handle: appends must not interleave. Part
    // files are written outside it, so blocks of different tasks write in parallel.
    private readonly Lock _lock = new();
    private readonly SinkManifest _manifest = new(Path.Combine(directory, SinkManifest.FileName));
    private OutputLock? _outputLock;

    protected string OutputDirectory => directory;

    /// <summary>The part files' extension, without the dot.</summary>
    protected abstract string Extension { get; }

    public override string Format => Extension;

    /// <summary>Writes <paramref name="batch"/> as one complete file into <paramref name="output"/> (which the caller flushes and closes).</summary>
    protected abstract void WritePart(RecordBatch batch, Stream output);

    /// <summary>Called once per open, after the manifest is loaded; lets a format restore what it keeps across parts.</summary>
    protected virtual void OnOpened(string? firstCommittedPart) { }

    /// <summary>The part file name of a block: unique per (read task id, seq), sorted in input order.</summary>
    internal static string PartName(BlockLineage lineage, string extension)
    {
        var hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(lineage.TaskId));
        return $"part-{lineage.TaskIndex:D5}-{Convert.ToHexStringLower(hash, 0, 4)}-{lineage.Seq:D5}.{extension}";
    }

    public override async ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
    {
        var key = BlockKey(block.Lineage.TaskId, block.Lineage.Seq);
        lock (_lock)
        {
            if (_manifest.Blocks.Contains(key)) return;
        }
        string? part = null;
        (long Bytes, string Sha256)? written = null;
        if (block.Rows > 0)
        {
            part = PartName(block.Lineage, Extension);
            // Off the caller's thread: a part can take a while to encode and fsync.
            written = await Task.Run(() => WriteAndRename(block.Batch, part, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        lock (_lock)
        {
            // Another thread may have committed the same key meanwhile; its part is identical.
            if (!_manifest.Blocks.Contains(key)) _manifest.AppendBlock(key, part, block.Rows, written?.Bytes, written?.Sha256);
        }
    }

    public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (!_manifest.Tasks.Contains(taskId)) _manifest.AppendTask(taskId, blocks);
        }
        return ValueTask.CompletedTask;
    }

    public override ValueTask AbortAsync()
    {
        lock (_lock)
        {
            // A sink that never took the lock (refused at open) must not touch what another run is writing.
            if (_outputLock is null) return ValueTask.CompletedTask;
            DeleteTmp();
            ReleaseLock();
        }
        return ValueTask.CompletedTask;
    }

    public override ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tmp = Path.Combine(directory, TmpDir);
        System.IO.Directory.CreateDirectory(tmp);
        var marker = Path.Combine(tmp, $"{SuccessFile}.{Guid.NewGuid():N}");
        using (var stream = new FileStream(marker, FileMode.CreateNew, FileAccess.Write))
            stream.Flush(flushToDisk: true);
        File.Move(marker, Path.Combine(directory, SuccessFile), overwrite: true);
        DeleteTmp();
        lock (_lock) ReleaseLock();
        return ValueTask.CompletedTask;
    }

    /// <summary>Releases the output's lock without cleaning up, as a killed process would (tests use it to stand for a kill).</summary>
    public void Dispose()
    {
        lock (_lock) ReleaseLock();
    }

    private void ReleaseLock()
    {
        _outputLock?.Dispose();
        _outputLock = null;
    }

    private (long Bytes, string Sha256) WriteAndRename(RecordBatch batch, string part, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tmpDir = Path.Combine(directory, TmpDir);
        System.IO.Directory.CreateDirectory(tmpDir);
        var tmp = Path.Combine(tmpDir, $"{part}.{Guid.NewGuid():N}");
        try
        {
            (long, string) written;
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
            {
                WritePart(batch, stream);
                // fsync before the rename: a renamed part must never be a torn file.
                stream.Flush(flushToDisk: true);
                // The checksum is of the bytes on disk (read back from the page cache), whatever the format's writer did.
                stream.Position = 0;
                written = (stream.Length, Convert.ToHexStringLower(SHA256.HashData(stream)));
            }
            File.Move(tmp, Path.Combine(directory, part), overwrite: true);
            return written;
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
    }

    private string ManifestPath => Path.Combine(directory, SinkManifest.FileName);

    private List<string> PartFiles() =>
        System.IO.Directory.EnumerateFiles(directory, "part-*").ToList();

    private void DeleteTmp()
    {
        var tmp = Path.Combine(directory, TmpDir);
        if (System.IO.Directory.Exists(tmp)) System.IO.Directory.Delete(tmp, recursive: true);
    }
}
