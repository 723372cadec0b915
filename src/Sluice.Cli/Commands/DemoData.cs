using System.Text;
using Sluice.IO.Samples;

namespace Sluice.Cli.Commands;

/// <summary>Writes the demos' datasets: this machine's licence texts (<see cref="MachineText"/>) as a few text files, or (image, caption) pairs as image files and a captions file.</summary>
internal static class DemoData
{
    public static (int Files, int Rows) Write(string dir, int rows, int files)
    {
        var lines = MachineText.Lines(rows);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        var per = (lines.Count + files - 1) / files;
        var written = 0;
        for (var f = 0; f * per < lines.Count; f++, written++)
            File.WriteAllLines(Path.Combine(dir, $"docs-{f:D3}.txt"), lines.Skip(f * per).Take(per), new UTF8Encoding(false));
        return (written, lines.Count);
    }

    /// <summary>
    /// Writes <paramref name="rows"/> (image, caption) pairs under <paramref name="dir"/> as files: <c>images/</c> (JPEG and PNG)
    /// and <c>captions.jsonl</c> (<c>id</c>, <c>image_path</c> relative to <paramref name="dir"/>, <c>caption</c>; <see cref="DemoImages"/>).
    /// </summary>
    public static async Task WritePairsAsync(string dir, int rows, CancellationToken ct)
    {
        if (rows < 1) throw new SluiceException($"--rows must be at least 1, got {rows}");
        await DemoImages.WriteAsync(dir, rows, ct).ConfigureAwait(false);
    }
}
