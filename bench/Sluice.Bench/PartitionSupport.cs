using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Types;
using Sluice.Blocks;
using Sluice.Contracts;

namespace Sluice.Bench;

/// <summary>
/// N synthetic RGB images (0..255, [3, 224, 224]) made once in memory, so every run of the partition benchmark reads
/// the same pixels and no run pays for making them: smooth per-image waves (a different frequency, direction and phase
/// per image and channel) plus a little seeded noise. Each row carries its <c>id</c>, which the sink keys outputs by.
/// </summary>
internal sealed class SyntheticImages : Datasource
{
    public const int Channels = 3, Side = 224;
    public const int Width = Channels * Side * Side;
    private static readonly int[] Shape = [Channels, Side, Side];

    private readonly float[] _pixels;
    private readonly int _tasks;

    public SyntheticImages(int rows, int tasks)
    {
        Rows = rows;
        _tasks = Math.Max(1, Math.Min(tasks, rows));
        _pixels = new float[(long)rows * Width];
        Parallel.For(0, rows, Make);
    }

    public int Rows { get; }

    public override string Name => $"synthetic-images({Rows} x [{Channels},{Side},{Side}])";

    public override ValueTask<IReadOnlyList<ReadTask>> PlanAsync(CancellationToken cancellationToken)
    {
        var per = (Rows + _tasks - 1) / _tasks;
        var tasks = new List<ReadTask>();
        for (var start = 0; start < Rows; start += per) tasks.Add(new Slice(this, start, Math.Min(per, Rows - start)));
        return ValueTask.FromResult<IReadOnlyList<ReadTask>>(tasks);
    }

    public override ValueTask<Schema?> InferSchemaAsync(CancellationToken cancellationToken) => ValueTask.FromResult<Schema?>(Batch(0, 1).Schema);

    private RecordBatch Batch(int start, int rows)
    {
        var ids = new Int64Array.Builder();
        for (var i = 0; i < rows; i++) ids.Append(start + i);
        var (field, images) = TensorColumns.Create("image", _pixels.AsSpan(start * Width, rows * Width).ToArray(), rows, Shape);
        var schema = new Schema([new Field("id", Int64Type.Default, nullable: false), field], null);
        return new RecordBatch(schema, [ids.Build(), images], rows);
    }

    private void Make(int image)
    {
        var random = new Random(1_000 + image);
        var span = _pixels.AsSpan(image * Width, Width);
        for (var c = 0; c < Channels; c++)
        {
            var angle = random.NextDouble() * Math.PI;
            var frequency = 0.02 + random.NextDouble() * 0.15;
            var (fx, fy) = (Math.Cos(angle) * frequency, Math.Sin(angle) * frequency);
            var phase = random.NextDouble() * 2 * Math.PI;
            var (mean, amplitude) = (60 + random.NextDouble() * 130, 30 + random.NextDouble() * 60);
            for (var y = 0; y < Side; y++)
            {
                for (var x = 0; x < Side; x++)
                {
                    var v = mean + amplitude * Math.Sin(fx * x + fy * y + phase) + (random.NextDouble() - 0.5) * 24;
                    span[(c * Side + y) * Side + x] = (float)Math.Clamp(v, 0, 255);
                }
            }
        }
    }

    private sealed class Slice(SyntheticImages source, int start, int count) : ReadTask
    {
        public override string Id => $"images[{start}..{start + count})";

        public override async IAsyncEnumerable<RecordBatch> ReadAsync(int blockRows, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await Task.Yield();
            for (var offset = 0; offset < count; offset += blockRows)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return source.Batch(start + offset, Math.Min(blockRows, count - offset));
            }
        }
    }
}

/// <summary>Keeps each row's <c>features</c> vector by <c>id</c> (blocks may arrive in any order and from several tasks at once).</summary>
internal sealed class FeatureSink : Datasink
{
    private readonly object _gate = new();
    private readonly Dictionary<long, float[]> _features = [];

    public override string Name => "features";

    public IReadOnlyDictionary<long, float[]> Features
    {
        get
        {
            lock (_gate) return new Dictionary<long, float[]>(_features);
        }
    }

    public override ValueTask<SinkState> OpenAsync(WriteMode mode, CancellationToken cancellationToken) => ValueTask.FromResult(SinkState.Empty);

    public override ValueTask WriteAsync(Block block, CancellationToken cancellationToken)
    {
        if (block.Rows == 0) return ValueTask.CompletedTask;
        var batch = block.Batch;
        var ids = (Int64Array)batch.Column("id");
        var column = (FixedSizeListArray)batch.Column("features");
        var size = ((FixedSizeListType)column.Data.DataType).ListSize;
        var elements = TensorColumns.Elements<float>(column);
        lock (_gate)
        {
            for (var i = 0; i < batch.Length; i++) _features[ids.GetValue(i)!.Value] = elements.Slice(i * size, size).ToArray();
        }
        return ValueTask.CompletedTask;
    }

    public override ValueTask MarkTaskCompleteAsync(string taskId, int blocks, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public override ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>One measured job of the partition benchmark: its wall time, final stats and outputs.</summary>
internal sealed record PartitionRun(string Label, int Rows, double WallSeconds, CpuUse Cpu, Sluice.Execution.Stats.ExecutionSnapshot Final, IReadOnlyDictionary<long, float[]> Features)
{
    public double RowsPerSecond => Rows / WallSeconds;

    /// <summary>
    /// Each model operator's stage time: the executor's actor busy time (an actor is busy from taking a task while idle
    /// until its last task in flight ends; summed over the stage's actors), i.e. cost per row x rows. It holds the model
    /// run plus the conversion of the tensor columns in and out, and nothing of the time a block waits in a queue.
    /// </summary>
    public IReadOnlyList<(string Name, double Seconds, int PeakActors, int ActorsStarted)> StageTimes(IReadOnlyList<string> operators) =>
        operators.Select(name =>
        {
            var op = Final.Operators.First(o => o.Name == name);
            return (name, (op.CostMsPerRow ?? 0) * op.RowsOut / 1000, op.PeakActors, op.ActorsStarted);
        }).ToList();

    /// <summary>Max abs difference of <c>features</c> against <paramref name="reference"/> over every row; +inf when a row is missing.</summary>
    public double MaxAbsDiff(IReadOnlyDictionary<long, float[]> reference)
    {
        if (Features.Count != reference.Count) return double.PositiveInfinity;
        double max = 0;
        foreach (var (id, expected) in reference)
        {
            if (!Features.TryGetValue(id, out var actual) || actual.Length != expected.Length) return double.PositiveInfinity;
            for (var i = 0; i < expected.Length; i++) max = Math.Max(max, Math.Abs(actual[i] - expected[i]));
        }
        return max;
    }
}
