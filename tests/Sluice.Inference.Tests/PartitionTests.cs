using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Sluice.Inference.Partitioning;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests;

/// <summary>Pipeline partitioning of MiniLM (issue 5): chained stages reproduce the whole model.</summary>
[Collection("models")]
public sealed class PartitionTests(ModelFixture models, ITestOutputHelper output)
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Partition_MiniLmIntoKStages_ChainedStagesEqualWholeModel(int k)
    {
        var dir = Path.Combine(models.Root, $"partition-{k}");

        var plan = ModelPartitioner.Write(models.MiniLm.Model, new PartitionOptions(Stages: k), dir);
        output.WriteLine(plan.ToTable());

        Assert.Equal(k, plan.Stages.Count);
        Assert.Equal(k - 1, plan.Cuts.Count);
        // No initializer is shared across a cut in MiniLM: the stage bytes add up to the model's exactly.
        Assert.Equal(0, plan.DuplicatedParameterBytes);
        Assert.Equal(plan.TotalParameterBytes, plan.Stages.Sum(s => s.ParameterBytes));
        Assert.Equal(WholeModelInitializerBytes(), plan.TotalParameterBytes);
        Assert.All(plan.Stages[0].Inputs, i => Assert.Contains(i, new[] { "input_ids", "attention_mask", "token_type_ids" }));
        for (var i = 1; i < k; i++)
        {
            Assert.Equal(plan.Cuts[i - 1], plan.Stages[i].Inputs[0]);
            Assert.All(plan.Stages[i].Inputs.Skip(1), n => Assert.Contains(n, new[] { "input_ids", "attention_mask", "token_type_ids" }));
        }
        // The last stage (encoder layers) takes attention_mask and recomputes its 9-node mask chain.
        Assert.Contains("attention_mask", plan.Stages[^1].Inputs);
        Assert.Equal(9, plan.Stages[^1].DuplicatedNodes);
        Assert.Equal(plan.ToJson(), PartitionPlan.FromJson(File.ReadAllText(Path.Combine(dir, PartitionPlan.FileName))).ToJson());

        // Every boundary input is typed [batch, seq, 384], so ONNX Runtime can fuse across the stage's layers.
        for (var i = 1; i < k; i++)
        {
            using var stage = new InferenceSession(Path.Combine(dir, plan.Stages[i].File));
            var boundary = stage.InputMetadata[plan.Stages[i].Inputs[0]];
            Assert.Equal(3, boundary.Dimensions.Length);
            Assert.Equal(384, boundary.Dimensions[2]);
        }

        var feeds = Feeds.MiniLm();
        var whole = OrtRun.Run(models.MiniLm.Model, feeds);
        var chained = OrtRun.RunChain(plan.Stages.Select(s => Path.Combine(dir, s.File)), feeds);

        foreach (var (name, expected) in whole)
        {
            var diff = OrtRun.MaxAbsDiff(expected, chained[name]);
            output.WriteLine($"{k} stages, {name}: max abs diff {diff:E2}");
            Assert.True(diff <= 1e-4, $"{name}: max abs diff {diff} > 1e-4");
        }
    }

    /// <summary>
    /// MiniLM's 46.9 MB word-embedding Gather is one node, so every plan's largest stage is the embedding stage:
    /// 47,675,408 B with 2 stages, and 3 stages can do only 4,112 B better (the position-id chain split off).
    /// A cap just below the 2-stage maximum therefore needs exactly 3 stages.
    /// </summary>
    [Fact]
    public void Plan_MaxStageBytesJustBelowTwoStageMaximum_PicksThreeStages()
    {
        var two = ModelPartitioner.Plan(models.MiniLm.Model, new PartitionOptions(Stages: 2)).Stages.Max(s => s.ParameterBytes);
        var cap = two - 1;

        var plan = ModelPartitioner.Plan(models.MiniLm.Model, new PartitionOptions(MaxStageBytes: cap));
        output.WriteLine($"2-stage max {two:N0} B, cap {cap:N0} B");
        output.WriteLine(plan.ToTable());

        Assert.Equal(3, plan.Stages.Count);
        Assert.All(plan.Stages, s => Assert.True(s.ParameterBytes <= cap));
        Assert.Equal(2, ModelPartitioner.Plan(models.MiniLm.Model, new PartitionOptions(MaxStageBytes: two)).Stages.Count);
    }

    [Fact]
    public void Plan_ImpossibleMaxStageBytes_SaysSmallestAchievable()
    {
        var e = Assert.Throws<BadInputException>(() => ModelPartitioner.Plan(models.MiniLm.Model, new PartitionOptions(MaxStageBytes: 1_000_000)));
        output.WriteLine(e.Message);
        Assert.Contains("--max-stage-bytes", e.Message);
        Assert.Contains("1,000,000", e.Message);
        Assert.Contains("smallest achievable largest stage", e.Message);
    }

    /// <summary>
    /// Latency balance profiles MiniLM in ONNX Runtime: stage costs are measured kernel microseconds. How even they
    /// come out is printed, with their sum beside a directly timed run and the params-balanced cuts, not asserted:
    /// all are wall-clock times on a shared machine. That the balancer picks the most even cuts for the costs it is
    /// given is asserted exactly in <see cref="StageBalancerTests"/>; the pipeline's speed is measured by
    /// <c>Sluice.Bench partition</c> (stage balance, and pipelined / whole rows/s on its last line).
    /// </summary>
    [Fact]
    public void Plan_MiniLmLatencyBalanceIntoThreeStages_MeasuresEveryStageTime()
    {
        var plan = ModelPartitioner.Plan(models.MiniLm.Model, new PartitionOptions(Stages: 3, Balance: PartitionBalance.Latency));
        var byParams = ModelPartitioner.Plan(models.MiniLm.Model, new PartitionOptions(Stages: 3));
        output.WriteLine(plan.ToTable());
        output.WriteLine(byParams.ToTable());

        Assert.Equal(3, plan.Stages.Count);
        Assert.StartsWith("measured: ONNX Runtime profile", plan.CostModel);
        Assert.Contains("[8,128]", plan.CostModel);
        Assert.Equal("microseconds", plan.CostUnit);
        Assert.Contains("cost (µs)", plan.ToTable());
        Assert.StartsWith("estimated: FLOP proxy", byParams.CostModel);
        var costs = plan.Stages.Select(s => s.EstimatedCost).ToArray();
        var ratio = costs.Max() / costs.Average();
        var direct = TimedRunMicroseconds(models.MiniLm.Model);
        output.WriteLine($"stage µs {string.Join(", ", costs.Select(c => c.ToString("N0")))}; max/mean {ratio:F3}; " +
            $"sum {costs.Sum():N0} µs vs a directly timed run {direct:N0} µs");
        output.WriteLine($"latency cuts: {string.Join(" | ", plan.Cuts)}");
        output.WriteLine($"params cuts:  {string.Join(" | ", byParams.Cuts)} ({(plan.Cuts.SequenceEqual(byParams.Cuts) ? "same" : "different")})");
        Assert.All(costs, c => Assert.True(c > 0, $"stage costs {string.Join(", ", costs)}: one is not positive"));
        Assert.True(direct > 0);
    }

    [Fact]
    public void Measure_InputTypeItCannotSynthesize_FallsBackToFlopProxyAndSaysWhy()
    {
        var path = TinyOnnx.Identity(Path.Combine(models.Root, "tiny-double"), 11, "batch", 4); // 11 = double
        var model = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var g = new GraphIndex(model.Graph);

        var costs = LatencyProfiler.Measure(model, g);
        output.WriteLine(costs.Model);

        Assert.False(costs.Measured);
        Assert.Equal(g.Cost, costs.PerNode);
        Assert.StartsWith("estimated: FLOP proxy", costs.Model);
        Assert.Contains("cannot synthesize input 'x'", costs.Model);
    }

    [Theory]
    [InlineData(null, null, "exactly one")]
    [InlineData(2, 1000L, "exactly one")]
    [InlineData(1, null, "--stages")]
    [InlineData(1000, null, "at most")]
    [InlineData(null, 0L, "--max-stage-bytes")]
    public void Plan_BadOptions_NamesTheOption(int? stages, long? maxBytes, string expected)
    {
        var e = Assert.Throws<BadInputException>(() => ModelPartitioner.Plan(models.MiniLm.Model, new PartitionOptions(stages, maxBytes)));
        output.WriteLine(e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void Plan_MissingModel_SaysSo()
    {
        var e = Assert.Throws<BadInputException>(() => ModelPartitioner.Plan(Path.Combine(models.Root, "nope.onnx"), new PartitionOptions(Stages: 2)));
        Assert.Contains("does not exist", e.Message);
    }

    /// <summary>Mean wall time of 3 runs after a warm-up, under the profiler's settings and probe inputs.</summary>
    internal static double TimedRunMicroseconds(string model)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        var inputs = ProbeInputs.Create(session, LatencyProfiler.ProbeBatch, LatencyProfiler.ProbeFree, seed: 1, out var problem)
            ?? throw new InvalidOperationException(problem);
        using (session.Run(inputs)) { }
        var clock = Stopwatch.StartNew();
        for (var r = 0; r < LatencyProfiler.Runs; r++)
            using (session.Run(inputs)) { }
        return clock.Elapsed.TotalMicroseconds / LatencyProfiler.Runs;
    }

    private long WholeModelInitializerBytes() =>
        Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(models.MiniLm.Model)).Graph.Initializer.Sum(t => (long)t.RawData.Length);
}
