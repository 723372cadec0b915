using System.Text.Json;
using Apache.Arrow;
using Sluice.IO.Output;

namespace Sluice.IO.JsonLines;

/// <summary>JSON Lines part files: one object per row; tensor and list columns as JSON arrays.</summary>
internal sealed class JsonLinesDatasink(string directory) : FileDatasink(directory)
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true };

    public override string Name => $"jsonl({OutputDirectory})";

    protected override string Extension => "jsonl";

    protected override void WritePart(RecordBatch batch, Stream output)
    {
        // The caller owns, flushes and closes the stream; FileStream buffers the small writes.
        using (var writer = new Utf8JsonWriter(output, WriterOptions))
        {
            var names = batch.Schema.FieldsList.Select(f => JsonEncodedText.Encode(f.Name)).ToArray();
            for (var row = 0; row < batch.Length; row++)
            {
                writer.WriteStartObject();
                for (var c = 0; c < names.Length; c++)
                {
                    writer.WritePropertyName(names[c]);
                    JsonValueWriter.Write(writer, batch.Column(c), row, batch.Schema.GetFieldByIndex(c).Name);
                }
                writer.WriteEndObject();
                writer.Flush();
                output.WriteByte((byte)'\n');
                // A fresh top-level value per line: Reset clears the writer's state, not the stream.
                writer.Reset(output);
            }
        }
    }
}
