using Sluice.Blocks;

namespace Sluice.Contracts;

/// <summary>How a sink treats an output location that already holds output.</summary>
public enum WriteMode
{
    /// <summary>Refuse to start when the output already holds committed parts.</summary>
    [System.Text.Json.Serialization.JsonStringEnumMemberName("error")]
    ErrorIfExists,

    /// <summary>Remove what is there and write anew.</summary>
    Overwrite,

    /// <summary>Keep committed parts; write only what the manifest lacks.</summary>
    Resume,
}

/// <summary>What an output already holds when a job opens it (empty unless resuming).</summary>
/// <param name="CompletedTasks">Read task ids whose every block is committed: the job skips them.</param>
/// <param name="CommittedBlocks">Block keys (<see cref="Datasink.BlockKey(BlockLineage)"/>) already committed: the job drops them after reading.</param>
public sealed record SinkState(IReadOnlySet<string> CompletedTasks, IReadOnlySet<string> CommittedBlocks)
{
    public static SinkState Empty { get; } = new(new HashSet<string>(), new HashSet<string>());
}

/// <summary>
/// Writes blocks exactly once: each block is written to a temporary file and committed by rename,
/// and a manifest records what is committed, keyed by the block's lineage (read task id + seq).
/// </summary>
public abstract class Datasink
{
    public abstract string Name { get; }

    /// <summary>The write format (<c>parquet</c>, <c>jsonl</c>), as an output's fingerprint records it.</summary>
    public virtual string Format => Name;

    /// <summary>
    /// Whether the sink writes a block's kept dead letters (<see cref="Block.DeadLetters"/>) with its rows, in the same commit.
    /// A job with an <c>on_error: dead_letter</c> stage is refused before it starts when its sink does not.
    /// </summary>
    public virtual bool HoldsDeadLetters => false;

    /// <summary>The key a manifest records for a block: stable across runs of the same input.</summary>
    public static string BlockKey(string taskId, int seq) => $"{taskId}#{seq}";

    /// <summary>
    /// The key a manifest records for a block or a slice of one: <c>task#seq</c> for a whole block,
    /// <c>task#seq~stage.index.count</c> for slice <c>index</c> of <c>count</c> cut at operator <c>stage</c>.
    /// </summary>
    public static string BlockKey(BlockLineage lineage) =>
        lineage.Slice is { } s ? $"{BlockKey(lineage.TaskId, lineage.Seq)}~{s.Stage}.{s.Index}.{s.Count}" : BlockKey(lineage.TaskId, lineage.Seq);

    /// <summary>Reads a slice's key (<see cref="BlockKey(BlockLineage)"/>); false for a whole block's key or one that is not a key.</summary>
    public static bool TryParseSliceKey(string key, out string taskId, out int seq, out BlockSlice slice)
    {
        ArgumentNullException.ThrowIfNull(key);
        taskId = "";
        seq = 0;
        slice = default;
        var tilde = key.LastIndexOf('~');
        var hash = tilde < 0 ? -1 : key.LastIndexOf('#', tilde);
        if (hash < 0) return false;
        var parts = key[(tilde + 1)..].Split('.');
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length != 3 || !int.TryParse(key.AsSpan(hash + 1, tilde - hash - 1), System.Globalization.NumberStyles.None, inv, out seq)
            || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, inv, out var stage)
            || !int.TryParse(parts[1], System.Globalization.NumberStyles.None, inv, out var index)
            || !int.TryParse(parts[2], System.Globalization.NumberStyles.None, inv, out var count)
            || count < 2 || index >= count)
            return false;
        taskId = key[..hash];
        slice = new BlockSlice(stage, index, count);
        return true;
    }

    /// <summary>Prepares the output (per <paramref name="mode"/>) and returns what is already committed.</summary>
    public abstract ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken);

    /// <summary>
    /// Prepares the output and returns what is already committed, given what determines the job's rows.
    /// A sink that records it refuses a resume whose <paramref name="fingerprint"/> differs from the
    /// recorded one, and an output that lies inside <paramref name="inputs"/>. The executor calls this
    /// overload; the default ignores both and calls <see cref="OpenAsync(WriteMode, CancellationToken)"/>.
    /// </summary>
    public virtual ValueTask<SinkState> OpenAsync(WriteMode mode, OutputFingerprint? fingerprint, DatasourceInputs? inputs, CancellationToken cancellationToken) =>
        OpenAsync(mode, cancellationToken);

    /// <summary>Writes and commits one block (an empty block writes no file but is recorded). Idempotent for a block key.</summary>
    public abstract ValueTask WriteAsync(Block block, CancellationToken cancellationToken);

    /// <summary>
    /// Takes a block into the output and returns the blocks this call committed. A sink that commits each block
    /// (the default: <see cref="WriteAsync"/>) returns the block itself; a sink that groups blocks into files
    /// returns the blocks of the files this call closed — often none, since the block waits in an open file.
    /// The executor counts a block, and so its read task, as committed only once it is returned here or by
    /// <see cref="FlushAsync"/>: never when the call merely returns. Idempotent for a block key.
    /// </summary>
    public virtual async ValueTask<IReadOnlyList<BlockLineage>> AppendAsync(Block block, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(block);
        await WriteAsync(block, cancellationToken).ConfigureAwait(false);
        return [block.Lineage];
    }

    /// <summary>
    /// Commits every block <see cref="AppendAsync"/> holds uncommitted (the input ended) and returns them.
    /// The default holds none.
    /// </summary>
    public virtual ValueTask<IReadOnlyList<BlockLineage>> FlushAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<BlockLineage>>([]);

    /// <summary>Records that a read task's blocks 0..blocks-1 are all committed.</summary>
    public abstract ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken);

    /// <summary>Marks the whole output complete (writes the success marker).</summary>
    public abstract ValueTask CompleteAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The job failed or was stopped: remove what is half-written. Committed parts and the manifest
    /// stay (a resumed job builds on them); without the success marker the output is visibly incomplete.
    /// </summary>
    public virtual ValueTask AbortAsync() => ValueTask.CompletedTask;
}
