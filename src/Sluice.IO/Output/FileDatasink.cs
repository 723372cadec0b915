using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.IO.Output;

/// <summary>
/// The exactly-once protocol shared by file sinks; a format only writes one file from a batch.
/// A block is written to <c>.tmp/</c>, fsynced, renamed to <c>part-{task:D5}-{seq:D5}.ext</c>, and
/// then recorded in <c>_manifest.jsonl</c>. A kill between rename and record leaves an orphan part
/// that the resumed job rewrites with identical content (the name comes from the block's lineage).
/// </summary>
internal abstract class FileDatasink(string directory) : Datasink
{
    private const string TmpDir = ".tmp";
    private const string SuccessFile = "_SUCCESS";

    // Guards the manifest and its in-memory sets: appends must not interleave. Part files are
    // written outside it, so blocks of different tasks write in parallel.
    private readonly Lock _lock = new();
    private readonly SinkManifest _manifest = new(Path.Combine(directory, SinkManifest.FileName));

    protected string OutputDirectory => directory;

    /// <summary>The part files' extension, without the dot.</summary>
    protected abstract string Extension { get; }

    /// <summary>Writes <paramref name="batch"/> as one complete file into <paramref name="output"/> (which the caller flushes and closes).</summary>
    protected abstract void WritePart(RecordBatch batch, Stream output);

    /// <summary>Called once per open, after the manifest is loaded; lets a format restore what it keeps across parts.</summary>
    protected virtual void OnOpened(string? firstCommittedPart) { }

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        System.IO.Directory.CreateDirectory(directory);
        lock (_lock)
        {
            switch (mode)
            {
                case WriteMode.ErrorIfExists:
                    var parts = PartFiles().Count;
                    if (parts > 0 || File.Exists(ManifestPath))
                    {
                        throw new SluiceException(
                            $"output '{directory}' already holds output ({parts} part files{(File.Exists(ManifestPath) ? ", a manifest" : "")}); " +
                            "pass --resume to continue it, or set write mode overwrite to replace it");
                    }
                    DeleteTmp();
                    break;
                case WriteMode.Overwrite:
                    foreach (var part in PartFiles()) File.Delete(part);
                    File.Delete(ManifestPath);
                    File.Delete(Path.Combine(directory, SuccessFile));
                    DeleteTmp();
                    break;
                case WriteMode.Resume:
                    // Temporary files are leftovers of a killed run: never committed, never referenced.
                    DeleteTmp();
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(mode), mode, "expected ErrorIfExists, Overwrite or Resume");
            }
            _manifest.Load();
            OnOpened(_manifest.FirstPart is { } first ? Path.Combine(directory, first) : null);
            return ValueTask.FromResult(new SinkState(
                new HashSet<string>(_manifest.Tasks, StringComparer.Ordinal),
                new HashSet<string>(_manifest.Blocks, StringComparer.Ordinal)));
        }
    }

    public override async ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
    {
        var key = BlockKey(block.Lineage.TaskId, block.Lineage.Seq);
        lock (_lock)
        {
            if (_manifest.Blocks.Contains(key)) return;
        }
        string? part = null;
        if (block.Rows > 0)
        {
            part = $"part-{block.Lineage.Key}.{Extension}";
            // Off the caller's thread: a part can take a while to encode and fsync.
            await Task.Run(() => WriteAndRename(block.Batch, part, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        lock (_lock)
        {
            // Another thread may have committed the same key meanwhile; its part is identical.
            if (!_manifest.Blocks.Contains(key)) _manifest.AppendBlock(key, part, block.Rows);
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
        DeleteTmp();
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
        return ValueTask.CompletedTask;
    }

    private void WriteAndRename(RecordBatch batch, string part, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var tmpDir = Path.Combine(directory, TmpDir);
        System.IO.Directory.CreateDirectory(tmpDir);
        var tmp = Path.Combine(tmpDir, $"{part}.{Guid.NewGuid():N}");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                WritePart(batch, stream);
                // fsync before the rename: a renamed part must never be a torn file.
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, Path.Combine(directory, part), overwrite: true);
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
