namespace Sluice.Inference.Tests;

[Collection("models")]
public sealed class PackagedModelsTests(ModelFixture models)
{
    [Fact]
    public void ExportMiniLm_FreshDirectory_WritesModelAndVocab()
    {
        Assert.Equal(90_893_304, new FileInfo(models.MiniLm.Model).Length);
        var vocab = File.ReadAllLines(models.MiniLm.Vocab);
        Assert.Equal(30_522, vocab.Length);
        Assert.Equal("[PAD]", vocab[0]);
        Assert.Empty(Directory.GetFiles(models.MiniLm.Directory, "*.tmp"));
    }

    [Fact]
    public void ExportMiniLm_IdenticalFilesExist_LeavesThemAlone()
    {
        var before = File.GetLastWriteTimeUtc(models.MiniLm.Model);
        Thread.Sleep(20);

        var again = PackagedModels.ExportMiniLm(models.MiniLm.Directory);

        Assert.Equal(models.MiniLm, again);
        Assert.Equal(before, File.GetLastWriteTimeUtc(models.MiniLm.Model));
    }

    [Fact]
    public void Export_ChangedVocab_RewritesIt()
    {
        var dir = Path.Combine(models.Root, "rewrite");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "vocab.txt"), "not the vocab");
        File.Copy(models.MiniLm.Model, Path.Combine(dir, "model.onnx"));

        var files = PackagedModels.Export("MiniLM", dir);

        Assert.Equal(File.ReadAllBytes(models.MiniLm.Vocab), File.ReadAllBytes(files.Vocab));
    }

    [Fact]
    public void Export_UnknownName_ThrowsListingKnownNames()
    {
        var e = Assert.Throws<SluiceException>(() => PackagedModels.Export("gpt-17", models.Root));

        Assert.Contains("gpt-17", e.Message);
        Assert.Contains("minilm", e.Message);
        Assert.Equal(["minilm", "resnet18", "dual-tower", "tiny-decoder"], PackagedModels.Names);
    }
}
