using System.Text;
using Apache.Arrow;
using Sluice.Execution;
using Sluice.Execution.Stats;
using Sluice.IO;

namespace Sluice.Cluster.Tests.Support;

/// <summary>
/// A cluster one test owns (it may kill a worker of it): a real <c>redis-server</c>, N real worker
/// processes (<c>dotnet sluice.dll worker … --fast-failure-detection</c>) and the driver's runtime
/// (its own silo, fast failure detection) in the test process.
/// </summary>
internal sealed class OwnCluster : IAsyncDisposable
{
    private readonly RedisServer _redis;
    private readonly List<WorkerProcess> _workers;
    private readonly string _tag;

    private OwnCluster(RedisServer redis, List<WorkerProcess> workers, OrleansWorkerRuntime runtime, string tag)
    {
        _redis = redis;
        _workers = workers;
        Runtime = runtime;
        _tag = tag;
    }

    public OrleansWorkerRuntime Runtime { get; }

    public IReadOnlyList<WorkerProcess> Workers => _workers;

    /// <summary>Starts redis, <paramref name="workers"/> workers (each with <paramref name="workerArgs"/>) and the driver; waits until every worker has joined.</summary>
    public static async Task<OwnCluster> StartAsync(int workers, params string[] workerArgs)
    {
        var redis = await RedisServer.StartAsync();
        var started = new List<WorkerProcess>();
        try
        {
            var tag = Guid.NewGuid().ToString("N")[..6];
            // Node ids sort as w0 < w1 < w2: the executor's books list the nodes in that order.
            started.AddRange(await Task.WhenAll(Enumerable.Range(0, workers).Select(i => WorkerProcess.StartAsync(redis.Uri, $"w{i}-{tag}", [.. workerArgs, "--fast-failure-detection"]))));
            var runtime = await OrleansWorkerRuntime.StartAsync(new ClusterNodeOptions { Redis = redis.Uri, NodeId = $"driver-{tag}", FastFailureDetection = true });
            try
            {
                await runtime.WaitForWorkersAsync(workers, TimeSpan.FromSeconds(60));
            }
            catch
            {
                await runtime.DisposeAsync();
                throw;
            }
            return new OwnCluster(redis, started, runtime, tag);
        }
        catch
        {
            foreach (var w in started) w.Dispose();
            redis.Dispose();
            throw;
        }
    }

    /// <summary>Starts one more worker (node id <c>w{N}-{tag}</c>, sorting after the others) and waits until the driver sees it.</summary>
    public async Task<WorkerProcess> AddWorkerAsync(params string[] workerArgs)
    {
        var worker = await WorkerProcess.StartAsync(_redis.Uri, $"w{_workers.Count}-{_tag}", [.. workerArgs, "--fast-failure-detection"]);
        _workers.Add(worker);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Runtime.Nodes.All(n => n.Id != worker.NodeId))
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(30)) throw new TimeoutException($"the driver did not see worker {worker.NodeId} join within 30 s");
            await Task.Delay(50);
        }
        return worker;
    }

    /// <summary>Every worker's output (stdout and stderr), for failure messages.</summary>
    public string WorkerOutput()
    {
        var text = new StringBuilder();
        foreach (var w in _workers)
        {
            var output = w.Output;
            text.AppendLine($"--- worker {w.NodeId} (pid {w.Pid}), last 4000 chars of its output:");
            text.AppendLine(output.Length > 4000 ? output[^4000..] : output);
        }
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Runtime.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            foreach (var w in _workers) w.Dispose();
            _redis.Dispose();
        }
    }
}

/// <summary>Reading a job's output back, and describing a job's state in a failure message.</summary>
internal static class JobOutput
{
    /// <summary>Every row of the Parquet output in <paramref name="directory"/>: its id, and its other columns as text, sorted by id.</summary>
    public static async Task<List<(long Id, string Values)>> ReadSortedAsync(string directory, params string[] ignore)
    {
        var rows = new List<(long Id, string Values)>();
        await foreach (var batch in Read.Parquet(directory).IterateBatchesAsync(new ExecutionOptions()))
        {
            var ids = (Int64Array)batch.Column("id");
            var others = Enumerable.Range(0, batch.ColumnCount)
                .Where(c => batch.Schema.GetFieldByIndex(c).Name != "id" && !ignore.Contains(batch.Schema.GetFieldByIndex(c).Name)).ToList();
            for (var r = 0; r < batch.Length; r++)
            {
                var rest = string.Join(",", others.Select(c => $"{batch.Schema.GetFieldByIndex(c).Name}={Value(batch.Column(c), r)}"));
                rows.Add((ids.GetValue(r)!.Value, rest));
            }
        }
        rows.Sort((a, b) => a.Id.CompareTo(b.Id));
        return rows;
    }

    /// <summary>The distinct values of an int32 column over the whole output.</summary>
    public static async Task<HashSet<int>> DistinctInt32Async(string directory, string column)
    {
        var values = new HashSet<int>();
        await foreach (var batch in Read.Parquet(directory).IterateBatchesAsync(new ExecutionOptions()))
            foreach (var v in ((Int32Array)batch.Column(column)).Values) values.Add(v);
        return values;
    }

    /// <summary>Ids missing from 0..count-1, and ids present more than once (each at most 20, for the message).</summary>
    public static string Diff(IReadOnlyList<long> ids, long count)
    {
        var seen = new Dictionary<long, int>();
        foreach (var id in ids) seen[id] = seen.GetValueOrDefault(id) + 1;
        var missing = new List<long>();
        for (long i = 0; i < count && missing.Count < 20; i++) if (!seen.ContainsKey(i)) missing.Add(i);
        var twice = seen.Where(kv => kv.Value > 1).Select(kv => kv.Key).Order().Take(20).ToList();
        var stray = seen.Keys.Where(k => k < 0 || k >= count).Order().Take(20).ToList();
        return $"{ids.Count} rows, {seen.Count} distinct ids; missing (first 20): [{string.Join(", ", missing)}]; " +
            $"more than once (first 20): [{string.Join(", ", twice)}]; outside 0..{count - 1}: [{string.Join(", ", stray)}]";
    }

    public static string Describe(ExecutionSnapshot s)
    {
        var text = new StringBuilder($"elapsed {s.Elapsed.TotalSeconds:F1} s, resources {s.Resources}{Environment.NewLine}");
        foreach (var o in s.Operators)
        {
            text.AppendLine($"  {o.Name} ({o.Kind}): rows {o.RowsOut}, tasks done {o.TasksDone}, running {o.TasksRunning}, retries {o.TaskRetries}, queued {o.QueuedBlocks}, " +
                $"actors ready {o.ActorsReady} starting {o.ActorsStarting} started {o.ActorsStarted}, done {o.Done}, back-pressure '{o.BackPressure}', last scaling '{o.LastScaling}'");
        }
        return text.ToString();
    }

    private static string Value(IArrowArray column, int row) => column switch
    {
        Int64Array a => a.GetValue(row)?.ToString() ?? "null",
        Int32Array a => a.GetValue(row)?.ToString() ?? "null",
        DoubleArray a => a.GetValue(row)?.ToString("R") ?? "null",
        StringArray a => a.GetString(row) ?? "null",
        _ => $"<{column.GetType().Name}>",
    };
}
