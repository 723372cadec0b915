using System.Diagnostics;
using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Blocks;
using Sluice.Contracts;
using Sluice.Execution.Simulation;
using Sluice.Execution.Stats;

namespace Sluice.Bench;

/// <summary>
/// What happened on the simulated devices during one job, in bench time (ms since the job started):
/// which stage's actor held each device when (from the actor's initialize to its dispose) and every
/// interval a device was busy, with its stage. The snapshot reports busy time per device but not which
/// actor holds a device, and its busy time only grows when a batch ends; this log knows both exactly.
/// </summary>
internal sealed class DeviceLog(int devices)
{
    private readonly object _gate = new();
    private readonly SemaphoreSlim[] _locks = Enumerable.Range(0, devices).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    private readonly string?[] _owner = new string?[devices];
    private readonly Hold?[] _current = new Hold?[devices];

    public sealed class Hold(int device, string stage, int actor, double start)
    {
        public int Device => device;
        public string Stage => stage;
        public int Actor => actor;
        public double Start => start;
        public double? End { get; set; }
    }

    public sealed record Busy(int Device, string Stage, double Start, double End);

    public int Devices => devices;

    public long T0 { get; set; } = Stopwatch.GetTimestamp();

    public List<Hold> Holds { get; } = [];

    public List<Busy> BusyIntervals { get; } = [];

    public double Now => Stopwatch.GetElapsedTime(T0).TotalMilliseconds;

    /// <summary>Serializes batches on one device here, so that the time between acquiring this lock and the run's end is the device's busy interval (the device's own lock is then never contended).</summary>
    public SemaphoreSlim Lock(int device) => _locks[device];

    public Hold Acquire(int device, string stage, int actor)
    {
        var hold = new Hold(device, stage, actor, Now);
        lock (_gate)
        {
            Holds.Add(hold);
            _current[device] = hold;
            _owner[device] = stage;
        }
        return hold;
    }

    public void Release(Hold hold)
    {
        lock (_gate)
        {
            hold.End = Now;
            // A released device may already have been granted to a new actor before the old one is disposed.
            if (ReferenceEquals(_current[hold.Device], hold))
            {
                _current[hold.Device] = null;
                _owner[hold.Device] = null;
            }
        }
    }

    public void AddBusy(int device, string stage, double start, double end)
    {
        lock (_gate) BusyIntervals.Add(new(device, stage, start, end));
    }

    public string?[] Owners()
    {
        lock (_gate) return [.. _owner];
    }

    /// <summary>Busy time of <paramref name="device"/> within [from, to], counting only <paramref name="stage"/>'s batches when given.</summary>
    public double BusyWithin(int device, double from, double to, string? stage = null)
    {
        lock (_gate)
        {
            return BusyIntervals.Where(b => b.Device == device && (stage is null || b.Stage == stage))
                .Sum(b => Math.Max(0, Math.Min(b.End, to) - Math.Max(b.Start, from)));
        }
    }

    /// <summary>Busy time of all devices within [from, to].</summary>
    public double BusyWithin(double from, double to)
    {
        lock (_gate) return BusyIntervals.Sum(b => Math.Max(0, Math.Min(b.End, to) - Math.Max(b.Start, from)));
    }

    /// <summary>Device time held by <paramref name="stage"/>'s actors within [from, to] and the busy time of that stage's batches in it.</summary>
    public (double Held, double Busy) StageWithin(string stage, double from, double to)
    {
        List<Hold> holds;
        lock (_gate) holds = Holds.Where(h => h.Stage == stage).ToList();
        double held = 0, busy = 0;
        foreach (var h in holds)
        {
            var s = Math.Max(h.Start, from);
            var e = Math.Min(h.End ?? to, to);
            if (e <= s) continue;
            held += e - s;
            busy += BusyWithin(h.Device, s, e, stage);
        }
        return (held, busy);
    }
}

/// <summary>The <c>simulate</c> op, observed: a <see cref="SimulateProcessor"/> whose device holds and busy intervals go to a <see cref="DeviceLog"/>.</summary>
internal sealed class TrackedSimulate(SimulateOptions options, DeviceLog log, string stage) : IBatchProcessor, IPreflightCheck
{
    private readonly SimulateProcessor _inner = new(options);
    private int _device = -1;
    private DeviceLog.Hold? _hold;

    public async ValueTask InitializeAsync(ProcessorContext context, CancellationToken cancellationToken)
    {
        await _inner.InitializeAsync(context, cancellationToken);
        _device = context.GpuIds[0];
        _hold = log.Acquire(_device, stage, context.ActorIndex);
    }

    public async ValueTask<RecordBatch> ProcessAsync(RecordBatch batch, CancellationToken cancellationToken)
    {
        var gate = log.Lock(_device);
        await gate.WaitAsync(cancellationToken);
        try
        {
            var start = log.Now;
            var result = await _inner.ProcessAsync(batch, cancellationToken);
            log.AddBusy(_device, stage, start, log.Now);
            return result;
        }
        finally
        {
            gate.Release();
        }
    }

    public IEnumerable<string> Preflight(string stage, ResourceRequest resources, bool gpusAreSimulated) =>
        _inner.Preflight(stage, resources, gpusAreSimulated);

    public async ValueTask DisposeAsync()
    {
        if (_hold is not null) log.Release(_hold);
        await _inner.DisposeAsync();
    }
}

/// <summary>Discards blocks and counts rows: the pools benchmark measures scheduling, not IO. Optionally signals when a row count is reached.</summary>
internal sealed class CountingSink(long signalAt = long.MaxValue) : Datasink
{
    private long _rows;

    public override string Name => "count";

    public long Rows => Interlocked.Read(ref _rows);

    public TaskCompletionSource<double> Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DeviceLog? Clock { get; init; }

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

    public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
    {
        var now = Interlocked.Add(ref _rows, block.Rows);
        if (now >= signalAt && now - block.Rows < signalAt) Reached.TrySetResult(Clock?.Now ?? 0);
        return ValueTask.CompletedTask;
    }

    public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>
/// One read task in two phases: <c>high</c> blocks at once, then (after <see cref="StartLow"/> opens,
/// i.e. once the high phase is drained) <c>low</c> blocks, one every <c>interval</c>.
/// </summary>
internal sealed class PhasedSource(int high, int low, int blockRows, TimeSpan interval, DeviceLog clock) : Datasource
{
    private static readonly Schema IdSchema = new([new Field("id", Int64Type.Default, nullable: false)], null);

    public TaskCompletionSource StartLow { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int High => high;

    private int Low => low;

    private int Rows => blockRows;

    private double IntervalMs => interval.TotalMilliseconds;

    private double Now => clock.Now;

    public double LowStartMs { get; private set; } = double.NaN;

    /// <summary>When the last low-phase block was handed out (after it, the input is exhausted and every idle actor goes).</summary>
    public double LowEndMs { get; private set; } = double.NaN;

    public override string Name => $"phased({high} at once, then {low} every {interval.TotalMilliseconds:0} ms)";

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(IdSchema);

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<ReadTask>>([new Phases(this)]);

    private static RecordBatch Make(long start, int rows)
    {
        var b = new Int64Array.Builder();
        for (var i = 0; i < rows; i++) b.Append(start + i);
        return new RecordBatch(IdSchema, [b.Build()], rows);
    }

    private sealed class Phases(PhasedSource s) : ReadTask
    {
        public override string Id => "phased";

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            long id = 0;
            for (var b = 0; b < s.High; b++, id += s.Rows) yield return Make(id, s.Rows);
            await s.StartLow.Task.WaitAsync(cancellationToken);
            s.LowStartMs = s.Now;
            for (var b = 0; b < s.Low; b++, id += s.Rows)
            {
                // Paced against the phase start, so delays do not add up.
                var due = s.LowStartMs + b * s.IntervalMs;
                var wait = due - s.Now;
                if (wait > 0) await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
                if (b == s.Low - 1) s.LowEndMs = s.Now;
                yield return Make(id, s.Rows);
            }
        }
    }
}

/// <summary>A snapshot taken by the bench, with the bench time and which stage held each device then.</summary>
internal sealed record PoolSample(double Ms, ExecutionSnapshot Snap, string?[] Owners)
{
    public OperatorSnapshot? Op(string name) => Snap.Operators.FirstOrDefault(o => o.Name == name);
}
