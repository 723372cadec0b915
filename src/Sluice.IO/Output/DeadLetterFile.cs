using System.Text.Json;

namespace Sluice.IO.Output;

/// <summary>
/// The dead letters of one part file: <c>_errors/part-….jsonl</c> (the part's name with <c>.jsonl</c>; named after the part's
/// first block when it has no rows), one JSON object per failed row:
/// <c>{"stage","error","task","row","input":{…the row's columns…},"time"}</c>. Written to <c>.tmp/</c>, fsynced and published
/// before the manifest line that commits the part; a resume deletes every file no committed line names, so each dead
/// letter is in the output exactly once, with its block.
/// </summary>
internal static class DeadLetterFile
{
    public const string Directory = "_errors";

    /// <summary>Writes the part's dead letters into <paramref name="tmpDir"/>, fsynced; returns the file and the name it takes in <c>_errors/</c>.</summary>
    public static (string File, string Name) Write(string tmpDir, OpenPart part)
    {
        var name = Path.ChangeExtension(part.Name ?? FileDatasink.PartName(part.Lineages[0], "jsonl"), ".jsonl");
        System.IO.Directory.CreateDirectory(tmpDir);
        var tmp = Path.Combine(tmpDir, $"errors-{name}.{Guid.NewGuid():N}");
        using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
        {
            foreach (var letter in part.DeadLetters)
            {
                using (var json = new Utf8JsonWriter(stream))
                {
                    json.WriteStartObject();
                    json.WriteString("stage", letter.Stage);
                    json.WriteString("error", letter.Error);
                    json.WriteString("task", letter.TaskId);
                    json.WriteNumber("row", letter.Row);
                    json.WritePropertyName("input");
                    json.WriteRawValue(letter.Input);
                    json.WriteString("time", letter.Time);
                    json.WriteEndObject();
                }
                stream.WriteByte((byte)'\n');
            }
            // fsync before it is published, as for a part: a committed dead-letter file is never torn.
            stream.Flush(flushToDisk: true);
        }
        return (tmp, name);
    }
}
