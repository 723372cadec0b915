using System.Diagnostics;
using System.Globalization;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Contracts;
using Sluice.Execution;
using Sluice.Plan;

namespace Sluice.Bench;

/// <summary>
/// <c>memory</c>: is the memory budget a bound on memory? Each case runs in its own child process
/// (<c>memory-case</c>), so each peak RSS (VmHWM) is its own. Job: Range -> widen (task map: each row
/// gets a 1 KiB binary column) -> slow (task map that holds every block for the first seconds, so the
/// queues fill to the budget, then lets them through) -> counting sink, under a fixed memory budget.
/// Cases: 1x, 10x, 100x input (1x = the budget in payload) with 1,024-row blocks, and one-row blocks
/// (Range -> slow -> sink, 8-byte rows); then 100x where the slow stage consumes the payload (it returns the id column
/// only, as a model returns its output without its inputs), so the blocks it consumed are released when freed
/// (the sink's blocks are the sink's to keep: the store never releases them). Prints peak RSS / budget per case; last line
/// <c>ratio: X</c> = the worst peak RSS / budget. <c>memory-case ... diag</c> prints the live managed heap while the
/// queues are full; <c>memory-overhead [N] [columns]</c> measures what a bare block holds (see Block.OverheadBytes).
/// </summary>
internal static class MemoryBench
{
    private const int RowBytes = 1024;

    public static async Task<int> RunAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        long budgetMib = 64;
        var holdMs = 3000;
        var oneRowRows = 400_000L;
        for (var i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--budget-mib": budgetMib = long.Parse(args[++i], ci); break;
                case "--hold-ms": holdMs = int.Parse(args[++i], ci); break;
                case "--one-row-rows": oneRowRows = long.Parse(args[++i], ci); break;
                default: Console.Error.WriteLine($"unknown argument '{args[i]}'; usage: Sluice.Bench memory [--budget-mib 64] [--hold-ms 3000] [--one-row-rows 400000]"); return 2;
            }
        }
        var budget = budgetMib << 20;
        var oneX = budget / RowBytes;
        var cases = new (string Name, string Kind, long Rows, int BlockRows)[]
        {
            ("1x", "wide", oneX, 1024),
            ("10x", "wide", 10 * oneX, 1024),
            ("100x", "wide", 100 * oneX, 1024),
            ("one-row blocks", "narrow", oneRowRows, 1),
            ("100x consumed", "consumed", 100 * oneX, 1024),
        };
        Console.WriteLine($"memory bench: budget {budgetMib} MiB, hold {holdMs} ms, cores {Environment.ProcessorCount}; each case in its own process");
        var worst = 0.0;
        foreach (var c in cases)
        {
            var line = await RunChildAsync(["memory-case", c.Kind, c.Rows.ToString(ci), c.BlockRows.ToString(ci), budget.ToString(ci), holdMs.ToString(ci)]);
            if (line is null) return 1;
            var parts = line.Split(' ');
            var hwm = long.Parse(parts[0], ci);
            var ratio = hwm / (double)budget;
            worst = Math.Max(worst, ratio);
            Console.WriteLine(string.Create(ci, $"  {c.Name,-15} rows {c.Rows,9} block_rows {c.BlockRows,5}: peak RSS {hwm / 1048576.0,7:F0} MiB = {ratio,5:F2}x budget; {string.Join(' ', parts.Skip(1))}"));
        }
        Console.WriteLine(string.Create(ci, $"ratio: {worst:F2}"));
        return 0;
    }

    private static async Task<string?> RunChildAsync(string[] childArgs)
    {
        var self = Environment.ProcessPath!;
        var psi = new ProcessStartInfo { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") { psi.FileName = self; psi.ArgumentList.Add(typeof(MemoryBench).Assembly.Location); }
        else psi.FileName = self;
        foreach (var a in childArgs) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        var result = output.Split('\n').LastOrDefault(l => l.StartsWith("peak ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || result is null)
        {
            Console.Error.WriteLine($"memory-case {string.Join(' ', childArgs)} failed (exit {p.ExitCode}): {output}");
            return null;
        }
        return result["peak ".Length..];
    }

    /// <summary>The child: runs one case, prints <c>peak VmHWM-bytes details</c>.</summary>
    public static async Task<int> RunCaseAsync(string[] args)
    {
        var ci = CultureInfo.InvariantCulture;
        var kind = args[1];
        var rows = long.Parse(args[2], ci);
        var blockRows = int.Parse(args[3], ci);
        var budget = long.Parse(args[4], ci);
        var holdMs = int.Parse(args[5], ci);
        var sw = Stopwatch.StartNew();
        var ds = Dataset.Range(rows, new ReadOptions { BlockRows = blockRows });
        if (kind is "wide" or "consumed") ds = ds.MapBatches(Widen, new MapBatchesOptions { Name = "widen" });
        ds = ds.MapBatches(() => new Hold(sw, holdMs, consumes: kind == "consumed"), "hold", new MapBatchesOptions { Name = "slow", Pool = new PoolSize(1, 1, 1) });
        var sink = new CountingSink();
        var runtime = new Sluice.Execution.Runtime.LocalWorkerRuntime();
        var job = JobExecution.Start(ds, sink, new ExecutionOptions { MemoryBudgetBytes = budget, Runtime = runtime });
        if (args.Length > 6 && args[6] == "diag")
        {
            // Diagnosis only (not in the bench's figures): live managed bytes while the queues are full.
            await Task.Delay(holdMs - 500);
            var before = GC.GetTotalMemory(false);
            var live = GC.GetTotalMemory(true);
            var snap = job.Snapshot;
            Console.WriteLine(string.Create(ci, $"diag at {sw.ElapsedMilliseconds} ms: budget used {snap.UsedBytes / 1048576.0:F1} MiB, GC heap {before / 1048576.0:F1} MiB before a full collection, {live / 1048576.0:F1} MiB live; RSS {Status("VmRSS:") / 1048576.0:F0} MiB"));
        }
        var final = await job.Completion;
        if (sink.Rows != rows) throw new InvalidOperationException($"wrote {sink.Rows} rows, expected {rows}");
        var hwm = VmHwm();
        var allocations = Apache.Arrow.Memory.MemoryAllocator.Default.Value.Statistics.Allocations;
        var released = RuntimeFreed(runtime);
        // Finalizer pressure: Arrow's native buffers left to finalizers survive collections (gen1/gen2 counts, pause time).
        Console.WriteLine(string.Create(ci, $"peak {hwm} budget peak used {final.PeakUsedBytes / 1048576.0:F1} MiB, {sw.Elapsed.TotalSeconds:F1} s, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, collections gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}, GC pause {GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms, native allocations {allocations}, released when freed {released} ({released * 100.0 / Math.Max(1, allocations):F0}%, the rest left to finalizers)"));
        return 0;
    }

    /// <summary>
    /// <c>memory-overhead</c>: what a one-row, one-column block really holds. Builds N blocks as Range does (Int64
    /// builder, record batch, Block, a stored id and a BlockRef), keeps them, and divides the growth of the GC heap
    /// (after a full collection) and of RSS (managed plus native Arrow buffers) by N.
    /// </summary>
    public static int RunOverhead(string[] args)
    {
        var n = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 200_000;
        var columns = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 1;
        var schema = new Schema(Enumerable.Range(0, columns).Select(c => new Field($"c{c}", Int64Type.Default, nullable: false)), null);
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        var heap0 = GC.GetTotalMemory(true);
        var rss0 = Status("VmRSS:");
        var store = new Dictionary<Guid, Sluice.Blocks.Block>();
        var refs = new List<Sluice.Blocks.BlockRef>();
        long payload = 0;
        for (var i = 0; i < n; i++)
        {
            var arrays = new IArrowArray[columns];
            for (var c = 0; c < columns; c++) arrays[c] = new Int64Array.Builder().Append(i).Build();
            var block = new Sluice.Blocks.Block(new RecordBatch(schema, arrays, 1), default);
            var id = Guid.NewGuid();
            store[id] = block;
            refs.Add(new Sluice.Blocks.BlockRef(id, "local", 1, block.Bytes, block.Lineage));
            payload += ArrowBatches.ByteSize(block.Batch);
        }
        GC.Collect(2, GCCollectionMode.Forced, true, true);
        var heap1 = GC.GetTotalMemory(true);
        var rss1 = Status("VmRSS:");
        GC.KeepAlive(store);
        GC.KeepAlive(refs);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"overhead: {n} one-row blocks of {columns} int64 columns: payload {payload / (double)n:F0} B/block, GC heap +{(heap1 - heap0) / (double)n:F0} B/block, RSS +{(rss1 - rss0) / (double)n:F0} B/block, Block.Bytes {store.Values.First().Bytes} B"));
        return 0;
    }

    /// <summary>Holds every block until <c>holdMs</c> after the case started (async: no thread blocked), then passes it on (less its payload, when it consumes it).</summary>
    private sealed class Hold(Stopwatch since, int holdMs, bool consumes) : IBatchProcessor
    {
        private static readonly string[] PayloadColumn = ["payload"];

        public ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
        {
            var wait = holdMs - since.ElapsedMilliseconds;
            if (wait > 0) await Task.Delay((int)wait, cancellationToken);
            return consumes ? ArrowBatches.WithoutColumns(batch, PayloadColumn) : batch;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static readonly byte[] Payload = Enumerable.Range(0, RowBytes).Select(i => (byte)i).ToArray();

    private static RecordBatch Widen(RecordBatch batch)
    {
        var builder = new BinaryArray.Builder();
        builder.Reserve(batch.Length);
        for (var i = 0; i < batch.Length; i++) builder.Append(Payload.AsSpan());
        var schema = new Schema.Builder().Field(f => f.Name("id").DataType(Int64Type.Default)).Field(f => f.Name("payload").DataType(BinaryType.Default)).Build();
        return new RecordBatch(schema, [batch.Column(0), builder.Build()], batch.Length);
    }

    private static long VmHwm() => Status("VmHWM:");

    /// <summary>Native allocations the block store released when their blocks were freed (0 on a build without it).</summary>
    private static long RuntimeFreed(Sluice.Execution.Runtime.LocalWorkerRuntime runtime) => runtime.FreedAllocations;

    private static long Status(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        return -1;
    }
}
