using System.Diagnostics;
using System.Security.Cryptography;
using Apache.Arrow;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.IO.Output;

/// <summary>
/// The exactly-once protocol shared by file sinks; a format only encodes batches into one file
/// (<see cref="PartWriter"/>). Blocks are appended to an open part file in <c>.tmp/</c>; once it holds
/// <see cref="FileSinkOptions.RowsPerFile"/> rows or about <see cref="FileSinkOptions.TargetFileSize"/> bytes
/// (or the input ends) it is completed, fsynced, renamed to <c>part-{task:D5}-{taskHash}-{seq:D5}.ext</c> (after
/// its first block's lineage) and recorded in <c>Manifest.jsonl</c> on one line with its size, SHA-256 and the
/// keys of every block it holds. Only then are those blocks committed (and reported by
/// <see cref="AppendAsync"/> / <see cref="FlushAsync"/>): one fsync and one rename per file, not per block.
/// A kill leaves the open part in <c>.tmp/</c> (deleted on resume, its blocks written again) or an orphan
/// part renamed but not recorded (deleted on resume). The task index keeps parts in input order; the hash of
/// the task's stable id keeps two read tasks from ever sharing a name. A stopped or failed job
/// (<see cref="AbortAsync"/>) commits the open part when every block in it was written whole: those rows
/// are done work, the manifest says so, and a resume drops them after reading, exactly as it drops any
/// committed block. Dead letters of a part's blocks (<see cref="DeadLetterFile"/>) go to <c>_errors/</c> under the part's
/// name, renamed into place before the manifest line that commits the part, which names that file too. The output directory is locked (<see cref="OutputLock"/>) from open until complete or abort.
/// </summary>
internal abstract partial class FileDatasink(string directory, FileSinkOptions options) : Datasink, IDisposable
{
    private const string TmpDir = ".tmp";
    private const string SuccessFile = "_SUCCESS";

    // Guards the manifest and the lock handle: appends must not interleave.
    private readonly Lock _lock = new();
    private readonly IOutputStore _store = OutputStores.For(directory, options);
    private SinkManifest? _manifest;
    private IDisposable? _outputLock;

    // Guards the open part, the keys taken into parts and how the format packs bytes. A part is encoded under it
    // (one open file, filled in arrival order); completing, fsyncing and renaming a full part happen outside it.
    private readonly Lock _appendLock = new();
    private readonly HashSet<string> _accepted = new(StringComparer.Ordinal);
    private OpenPart? _open;
    private Exception? _broken;

    // File bytes per Arrow byte of the parts committed so far: how a format's buffered bytes are estimated. 1 until known.
    private double _packing = 1.0;

    protected string OutputDirectory => _store.Display;

    // Made on first use: where the manifest's working copy lives is the store's to say.
    private SinkManifest Manifest => _manifest ??= new SinkManifest(ManifestPath);

    protected FileSinkOptions Options => options;

    /// <summary>The part files' extension, without the dot.</summary>
    protected abstract string Extension { get; }

    public override string Format => Extension;

    public override bool HoldsDeadLetters => true;

    /// <summary>Opens a writer of one part file into <paramref name="output"/> (which the caller flushes and closes), for batches like <paramref name="first"/>.</summary>
    /// <param name="packing">File bytes per Arrow byte seen so far, to estimate what the writer still buffers.</param>
    protected abstract PartWriter OpenWriter(Stream output, RecordBatch first, double packing);

    /// <summary>The batch as the format writes it; throws, before anything is written, for a batch the output cannot hold.</summary>
    protected virtual RecordBatch Prepare(RecordBatch batch) => batch;

    /// <summary>Called once per open, after the manifest is loaded; lets a format restore what it keeps across parts.</summary>
    protected virtual void OnOpened(string? firstCommittedPart) { }

    /// <summary>The part file name of a block: unique per (read task id, seq, slice), sorted in input order.</summary>
    internal static string PartName(BlockLineage lineage, string extension)
    {
        var hash = SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(lineage.TaskId));
        var slice = lineage.Slice is { } s ? $"-{s.Stage}s{s.Index:D4}of{s.Count}" : "";
        return $"part-{lineage.TaskIndex:D5}-{Convert.ToHexStringLower(hash, 0, 4)}-{lineage.Seq:D5}{slice}.{extension}";
    }

    /// <summary>Writes the block as a part file of its own and commits it before returning (the open part is not touched).</summary>
    public override async ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        lock (_lock)
        {
            if (Manifest.IsCommitted(BlockKey(block.Lineage))) return;
        }
        await Task.Run(() => WriteOwnPart(block, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<IReadOnlyList<BlockLineage>> AppendAsync(Block block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        lock (_lock)
        {
            if (Manifest.IsCommitted(BlockKey(block.Lineage))) return [];
        }
        // Off the caller's thread: encoding a block, and completing a full part, take a while.
        return await Task.Run(() => Append(block, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    public override async ValueTask<IReadOnlyList<BlockLineage>> FlushAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        OpenPart? part;
        lock (_appendLock)
        {
            ThrowIfBroken();
            part = _open;
            _open = null;
        }
        if (part is null) return [];
        return await Task.Run(() => Commit(part), cancellationToken).ConfigureAwait(false);
    }

    public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            // A task record only spares re-reading a task after a kill: a remote manifest takes it with the next part's
            // record (or at the end), never with a request of its own on the caller's thread.
            if (!Manifest.Tasks.Contains(taskId)) Manifest.AppendTask(taskId, blocks);
        }
        return ValueTask.CompletedTask;
    }

    public override ValueTask AbortAsync()
    {
        lock (_lock)
        {
            // A sink that never took the lock (refused at open) must not touch what another run is writing.
            if (_outputLock is null) return ValueTask.CompletedTask;
        }
        OpenPart? part;
        bool whole;
        lock (_appendLock)
        {
            (part, _open) = (_open, null);
            whole = _broken is null;
        }
        if (part is not null)
        {
            try
            {
                if (whole) Commit(part);
                else part.Discard();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or SluiceException)
            {
                // Not committed: the part's blocks are written again by a resume. The job's own error is what matters.
            }
        }
        try
        {
            _store.PushManifest(ManifestPath, now: true);
            lock (_lock) DeleteTmp();
        }
        catch (Exception e)
        {
            // Task records not pushed only cost a resume some re-reading; the job's own error is what matters.
            Debug.WriteLine($"{Name}: cleaning up after the job stopped failed: {e.Message}");
        }
        finally
        {
            lock (_lock) ReleaseLock();
        }
        return ValueTask.CompletedTask;
    }

    public override async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        // A caller that appended without flushing still gets every block committed before the output is marked complete.
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        var tmp = Path.Combine(_store.Staging, TmpDir);
        System.IO.Directory.CreateDirectory(tmp);
        var marker = Path.Combine(tmp, $"{SuccessFile}.{Guid.NewGuid():N}");
        using (var stream = new FileStream(marker, FileMode.CreateNew, FileAccess.Write))
            stream.Flush(flushToDisk: true);
        try
        {
            // Every record is in the output's manifest before _SUCCESS says the output is complete.
            _store.PushManifest(ManifestPath, now: true);
            _store.Publish(marker, SuccessFile, sha256: null);
            lock (_lock) DeleteTmp();
        }
        finally
        {
            lock (_lock) ReleaseLock();
        }
    }

    /// <summary>Releases the output's lock without cleaning up, as a killed process would (tests use it to stand for a kill).</summary>
    public void Dispose()
    {
        lock (_appendLock)
        {
            // A kill leaves the open part's bytes in .tmp/, never committed.
            _open?.Dispose();
            _open = null;
        }
        lock (_lock) ReleaseLock();
    }

    private List<BlockLineage> Append(Block block, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = BlockKey(block.Lineage);
        var full = new List<OpenPart>(2);
        lock (_appendLock)
        {
            ThrowIfBroken();
            if (!_accepted.Add(key)) return [];
            RecordBatch? batch;
            try
            {
                batch = block.Rows > 0 ? Prepare(block.Batch) : null;
            }
            catch
            {
                // Refused before a byte was written: the open part is still whole.
                _accepted.Remove(key);
                throw;
            }
            // A part holds at most rows_per_file rows: close it before this block would pass that.
            if (_open is { Rows: > 0 } before && options.RowsPerFile is { } most && before.Rows + block.Rows > most)
            {
                full.Add(before);
                _open = null;
            }
            _open ??= new OpenPart();
            try
            {
                _open.Add(block, key, batch, NewPart, (stream, first) => OpenWriter(stream, first, _packing));
            }
            catch (Exception e)
            {
                // Half a block may be in the file: nothing in it can be committed, and the job must not finish as if it were.
                _broken = e;
                throw;
            }
            if (_open.Rows >= (options.RowsPerFile ?? long.MaxValue) || _open.EstimatedBytes >= options.TargetFileSize)
            {
                full.Add(_open);
                _open = null;
            }
        }
        var committed = new List<BlockLineage>();
        foreach (var part in full) committed.AddRange(Commit(part));
        return committed;
    }

    private void WriteOwnPart(Block block, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var key = BlockKey(block.Lineage);
        RecordBatch? batch;
        lock (_appendLock)
        {
            ThrowIfBroken();
            if (!_accepted.Add(key)) return;
            try
            {
                batch = block.Rows > 0 ? Prepare(block.Batch) : null;
            }
            catch
            {
                _accepted.Remove(key);
                throw;
            }
        }
        var part = new OpenPart();
        try
        {
            part.Add(block, key, batch, NewPart, (stream, first) => OpenWriter(stream, first, Volatile.Read(ref _packing)));
        }
        catch (Exception e)
        {
            part.Discard();
            lock (_appendLock) _broken ??= e;
            throw;
        }
        Commit(part);
    }

    /// <summary>Completes the part, renames it into place and records it with its blocks: they are committed when this returns.</summary>
    private List<BlockLineage> Commit(OpenPart part)
    {
        try
        {
            var written = part.Finish();
            if (written is { } w)
            {
                _store.Publish(part.TmpPath!, part.Name!, w.Sha256);
                if (part.ArrowBytes > 0) lock (_appendLock) _packing = (double)w.Bytes / part.ArrowBytes;
            }
            // The dead letters' file is in place before the manifest line that commits it with the part's blocks.
            string? errors = null;
            if (part.DeadLetters.Count > 0)
            {
                var (file, name) = DeadLetterFile.Write(Path.Combine(_store.Staging, TmpDir), part);
                _store.Publish(file, $"{DeadLetterFile.Directory}/{name}", sha256: null);
                errors = name;
            }
            lock (_lock) Manifest.AppendFile(part.Name, written?.Bytes, written?.Sha256, part.Blocks, errors);
            // The line is the commit: in the output's own manifest before the blocks are reported committed. Outside the
            // lock: appends and other commits go on while it uploads (pushes coalesce, never going back).
            _store.PushManifest(ManifestPath, now: true);
            return part.Lineages;
        }
        catch (Exception e)
        {
            part.Discard();
            lock (_appendLock) _broken ??= e;
            throw;
        }
    }

    private (string Name, string Tmp) NewPart(BlockLineage first)
    {
        var name = PartName(first, Extension);
        var tmpDir = Path.Combine(_store.Staging, TmpDir);
        System.IO.Directory.CreateDirectory(tmpDir);
        return (name, Path.Combine(tmpDir, $"{name}.{Guid.NewGuid():N}"));
    }

    private void ThrowIfBroken()
    {
        if (_broken is not null) throw new SluiceException($"{Name}: an earlier write failed ({_broken.Message}); the open part file is not committed", _broken);
    }

    private void ReleaseLock()
    {
        _outputLock?.Dispose();
        _outputLock = null;
    }

    private string ManifestPath => Path.Combine(_store.Staging, SinkManifest.FileName);

    private void DeleteTmp()
    {
        var tmp = Path.Combine(_store.Staging, TmpDir);
        if (System.IO.Directory.Exists(tmp)) System.IO.Directory.Delete(tmp, recursive: true);
    }
}
