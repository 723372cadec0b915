using System.Globalization;
using Sluice.Contracts;
using Sluice.Plan;

namespace Sluice.Execution.Planning;

/// <summary>Rows per block, and why: a decision the plan shows (<c>explain</c>) and the output's fingerprint records.</summary>
internal sealed record BlockSize(int Rows, string Reason);

/// <summary>
/// Chooses rows per block from the job's shape when the spec does not say: the source tells its size
/// (<see cref="Datasource.Estimate"/>), the planner knows the pools. An explicit <c>block_rows</c> wins.
/// The choice depends only on the spec and the input, never on the machine, so a resumed job cuts the
/// same blocks (block keys are <c>task#seq</c>).
/// </summary>
internal static class BlockSizing
{
    /// <summary>When the source cannot tell its size: the old fixed size.</summary>
    public const int FallbackRows = 1024;

    /// <summary>Input bytes per block: a few MiB keeps per-block costs (a task, a queue entry, a committed file) small against the work, and a bounded queue still holds many blocks.</summary>
    public const long TargetBytes = 4L * 1024 * 1024;

    /// <summary>Blocks per actor slot of the widest pool: several, so every actor gets work and the last blocks spread out instead of one actor finishing alone.</summary>
    public const int BlocksPerSlot = 4;

    /// <summary>Floor when no stage names a batch size: a one-row block costs more to move than to run.</summary>
    public const int MinRows = 16;

    /// <summary>Cap: a model's output is often far wider than its input (a 100-byte line becomes a 1.5 KB embedding).</summary>
    public const int MaxRows = 8192;

    public static BlockSize Choose(ReadOptions options, SourceEstimate? estimate, IReadOnlyList<ActorMapSpec> pools)
    {
        if (options.BlockRows is { } given) return new(given, "given by read.block_rows");
        if (estimate is not { Rows: { } rows } || rows <= 0)
            return new(FallbackRows, $"the default {Invariant(FallbackRows)}: the source cannot estimate its rows (set read.block_rows to choose)");

        var bytesPerRow = Math.Max(1.0, estimate.Bytes / (double)rows);
        var byBytes = (long)Math.Max(1, TargetBytes / bytesPerRow);
        var reasons = new List<string> { $"chosen from the job (no read.block_rows): ~{Invariant(rows)} rows of ~{bytesPerRow:0.#} B; {Invariant(byBytes)} rows make {TargetBytes / (1024 * 1024)} MiB" };
        var chosen = byBytes;

        // The widest pool by slots (actors at max x tasks per actor): the one that needs the most blocks to be busy.
        var widest = pools.OrderByDescending(p => (long)p.Options.Pool.Max * p.Options.MaxConcurrency).FirstOrDefault();
        if (widest is not null)
        {
            var slots = (long)widest.Options.Pool.Max * widest.Options.MaxConcurrency;
            var byPool = Math.Max(1, rows / (slots * BlocksPerSlot));
            reasons.Add($"the widest pool '{widest.Name}' has {Invariant(slots)} slots (max {Invariant(widest.Options.Pool.Max)} x max_concurrency {Invariant(widest.Options.MaxConcurrency)}): {Invariant(BlocksPerSlot)} blocks per slot need <= {Invariant(byPool)} rows each");
            chosen = Math.Min(chosen, byPool);
        }

        // Below the batch size a block makes short batches; any stage's largest batch is the floor.
        var batch = pools.Select(p => p.Options.BatchSize ?? 0).DefaultIfEmpty(0).Max();
        var floor = batch > 0 ? batch : MinRows;
        if (chosen < floor)
        {
            reasons.Add(batch > 0 ? $"raised to the batch size {Invariant(batch)}" : $"raised to the floor of {Invariant(MinRows)}");
            chosen = floor;
        }
        var cap = Math.Max(MaxRows, floor);
        if (chosen > cap)
        {
            reasons.Add($"capped at {Invariant(cap)}");
            chosen = cap;
        }
        return new((int)chosen, string.Join("; ", reasons));
    }

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);
}
