using Sluice.Inference.Partitioning;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests;

/// <summary>ResNet18 from Microsoft.ML.DnnImageFeaturizer.ResNet18 (issue 5): exported with a free batch, and partitioned.</summary>
[Collection("models")]
public sealed class ResNet18Tests(ModelFixture models, ITestOutputHelper output)
{
    private static string Packaged(string file) => Path.Combine(ResNet18Export.PackagedDirectory, file);

    [Fact]
    public void Export_BatchOfThree_EqualsPackageGraphsRunOneImageAtATime()
    {
        var feeds = Feeds.Images(3);
        var batch = OrtRun.Run(models.ResNet18.Model, feeds)[ResNet18Export.Output];
        Assert.Equal(new long[] { 3, 512 }, batch.Shape);

        // The package's own two graphs, batch 1 each: preprocessing, then the CNN.
        var image = feeds[ResNet18Export.Input].Floats!;
        var per = 3 * 224 * 224;
        var max = 0.0;
        for (var r = 0; r < 3; r++)
        {
            var one = HostTensor.Of(image.AsSpan(r * per, per).ToArray(), 1, 3, 224, 224);
            var prepped = OrtRun.Run(Packaged("ResNetPreprocess.onnx"), new Dictionary<string, HostTensor> { ["OriginalInput"] = one }).Single().Value;
            var features = OrtRun.Run(Packaged("ResNet18.onnx"), new Dictionary<string, HostTensor> { ["Input247"] = prepped }).Single().Value;
            Assert.Equal(new long[] { 1, 512, 1, 1 }, features.Shape);
            for (var i = 0; i < 512; i++) max = Math.Max(max, Math.Abs(features.Floats![i] - batch.Floats![r * 512 + i]));
        }
        output.WriteLine($"batch of 3 vs one at a time: max abs diff {max:E2}; features range {batch.Floats!.Min():F3}..{batch.Floats!.Max():F3}");
        Assert.True(max <= 1e-4, $"max abs diff {max} > 1e-4");
        // Different images give different features: the test is not comparing constants.
        Assert.NotEqual(batch.Floats![0..512], batch.Floats![512..1024]);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Partition_ResNet18IntoKStages_ChainedStagesEqualWholeModel(int k)
    {
        var dir = Path.Combine(models.Root, $"resnet18-partition-{k}");

        var plan = ModelPartitioner.Write(models.ResNet18.Model, new PartitionOptions(Stages: k), dir);
        output.WriteLine(plan.ToTable());

        Assert.Equal(k, plan.Stages.Count);
        Assert.Equal(plan.TotalParameterBytes, plan.Stages.Sum(s => s.ParameterBytes) - plan.DuplicatedParameterBytes);
        // Balanced by parameter bytes: no stage holds more than its share plus the largest block (layer4's 9.4 MB convs).
        var largest = plan.Stages.Max(s => s.ParameterBytes);
        output.WriteLine($"largest stage {largest:N0} B of {plan.TotalParameterBytes:N0} B");
        Assert.True(largest < plan.TotalParameterBytes * 0.75, $"the largest of {k} stages holds {largest:N0} of {plan.TotalParameterBytes:N0} B");

        var feeds = Feeds.Images(2);
        var whole = OrtRun.Run(models.ResNet18.Model, feeds);
        var chained = OrtRun.RunChain(plan.Stages.Select(s => Path.Combine(dir, s.File)), feeds);
        var diff = OrtRun.MaxAbsDiff(whole[ResNet18Export.Output], chained[ResNet18Export.Output]);
        output.WriteLine($"{k} stages: max abs diff {diff:E2}");
        Assert.True(diff <= 1e-4, $"max abs diff {diff} > 1e-4");
    }

    /// <summary>
    /// Latency balance profiles ResNet18 (batch 8) into 3 stages of measured time; chained, they equal the whole. How even the
    /// measured stages are is printed, not asserted (wall-clock on a shared machine): the balancer's choice is asserted exactly
    /// in <see cref="StageBalancerTests"/>, and the pipeline's speed is measured by <c>Sluice.Bench partition</c>.
    /// </summary>
    [Fact]
    public void Partition_ResNet18LatencyBalanceIntoThreeStages_MeasuresStagesAndChainEqualsWhole()
    {
        var dir = Path.Combine(models.Root, "resnet18-latency-3");

        var plan = ModelPartitioner.Write(models.ResNet18.Model, new PartitionOptions(Stages: 3, Balance: PartitionBalance.Latency), dir);
        var byParams = ModelPartitioner.Plan(models.ResNet18.Model, new PartitionOptions(Stages: 3));
        output.WriteLine(plan.ToTable());

        Assert.StartsWith("measured: ONNX Runtime profile", plan.CostModel);
        Assert.Contains("[8,3,224,224]", plan.CostModel);
        var costs = plan.Stages.Select(s => s.EstimatedCost).ToArray();
        var ratio = costs.Max() / costs.Average();
        output.WriteLine($"stage µs {string.Join(", ", costs.Select(c => c.ToString("N0")))}; max/mean {ratio:F3}; " +
            $"sum {costs.Sum():N0} µs vs a directly timed run {PartitionTests.TimedRunMicroseconds(models.ResNet18.Model):N0} µs");
        output.WriteLine($"latency cuts: {string.Join(" | ", plan.Cuts)}");
        output.WriteLine($"params cuts:  {string.Join(" | ", byParams.Cuts)}");
        Assert.Equal(3, costs.Length);
        Assert.All(costs, c => Assert.True(c > 0, $"stage costs {string.Join(", ", costs)}: one is not positive"));

        var feeds = Feeds.Images(2);
        var whole = OrtRun.Run(models.ResNet18.Model, feeds);
        var chained = OrtRun.RunChain(plan.Stages.Select(s => Path.Combine(dir, s.File)), feeds);
        var diff = OrtRun.MaxAbsDiff(whole[ResNet18Export.Output], chained[ResNet18Export.Output]);
        output.WriteLine($"latency-balanced stages: max abs diff {diff:E2}");
        Assert.True(diff <= 1e-4, $"max abs diff {diff} > 1e-4");
    }
}
