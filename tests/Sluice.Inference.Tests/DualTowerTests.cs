using Sluice.Inference.Partitioning;
using Xunit.Abstractions;

namespace Sluice.Inference.Tests;

/// <summary>The case-study dual-tower model (issue 5): ResNet18 and MiniLM in one graph, and its 3-stage pipeline.</summary>
[Collection("models")]
public sealed class DualTowerTests(ModelFixture models, ITestOutputHelper output)
{
    private static Dictionary<string, HostTensor> Feeds2()
    {
        // Two rows: two images and the first two of the MiniLM test sequences.
        var text = Feeds.MiniLm();
        var rows = new Dictionary<string, HostTensor> { [DualTowerExport.ImageInput] = Feeds.Pixels(2) };
        foreach (var (name, t) in text) rows[name] = HostTensor.Of(t.Longs![..(2 * 128)], 2, 128);
        return rows;
    }

    private void AssertTowersMatch(Dictionary<string, HostTensor> feeds, Dictionary<string, HostTensor> got, string what)
    {
        var pixels = feeds[DualTowerExport.ImageInput];
        var image = OrtRun.Run(models.ResNet18.Model, new Dictionary<string, HostTensor> { [ResNet18Export.Input] = HostTensor.Of(pixels.Bytes!.Select(b => (float)b).ToArray(), pixels.Shape) });
        var text = OrtRun.Run(models.MiniLm.Model, feeds);
        var imageDiff = OrtRun.MaxAbsDiff(image[ResNet18Export.Output], got[DualTowerExport.ImageOutput]);
        var textDiff = OrtRun.MaxAbsDiff(text[DualTowerExport.TextOutput], got[DualTowerExport.TextOutput]);
        output.WriteLine($"{what}: image tower max abs diff {imageDiff:E2}, text tower {textDiff:E2}");
        Assert.True(imageDiff <= 1e-4, $"{what}: image features differ by {imageDiff}");
        Assert.True(textDiff <= 1e-4, $"{what}: text hidden states differ by {textDiff}");
    }

    [Fact]
    public void Export_EachTowerEqualsItsOwnModel()
    {
        var feeds = Feeds2();
        AssertTowersMatch(feeds, OrtRun.Run(models.DualTower.Model, feeds), "dual tower whole");
    }

    [Fact]
    public void Partition_IntoThreeStages_ImageTowerThenTextEmbeddingsThenTextEncoder()
    {
        var dir = Path.Combine(models.Root, "dual-tower-3");

        var plan = ModelPartitioner.Write(models.DualTower.Model, new PartitionOptions(Stages: 3), dir);
        output.WriteLine(plan.ToTable());

        // The image tower is a stage of its own, and finishes image_features, which rides along to the end.
        Assert.Equal([DualTowerExport.ImageInput], plan.Stages[0].Inputs);
        Assert.Contains(DualTowerExport.ImageOutput, plan.Stages[0].Outputs);
        Assert.DoesNotContain(plan.Stages.Skip(1), s => s.Inputs.Contains(DualTowerExport.ImageInput));
        Assert.Contains("input_ids", plan.Stages[1].Inputs);
        Assert.Equal([DualTowerExport.TextOutput], plan.Stages[2].Outputs);
        Assert.Contains("attention_mask", plan.Stages[2].Inputs);

        var feeds = Feeds2();
        var chained = OrtRun.RunChain(plan.Stages.Select(s => Path.Combine(dir, s.File)), feeds);
        AssertTowersMatch(feeds, chained, "3 stages chained");
    }
}
