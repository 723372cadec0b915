using System.Text;
using Sluice.IO.Samples;

namespace Sluice.Cli.Commands;

/// <summary>Writes the demo's text dataset: this machine's licence texts (<see cref="MachineText"/>) as a few text files.</summary>
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
}
