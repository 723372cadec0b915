using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Sluice.IO.JsonLines;
using Sluice.IO.Output;

namespace Sluice.IO.OpenAiBatch;

/// <summary>
/// Writes one response line per row, as the Batch API's output file has them:
/// <c>{"id", "custom_id", "response": {"status_code": 200, "request_id", "body"}, "error": null}</c>, the body an
/// embedding list for <c>/v1/embeddings</c> and a chat completion or completion for the others. Ids are derived from
/// <c>custom_id</c>, so a rerun writes the same bytes. <c>usage</c> is written when the rows carry token counts
/// (<c>prompt_tokens</c>, <c>completion_tokens</c> columns), never invented.
/// </summary>
internal sealed class OpenAiBatchPartWriter(Stream output, OpenAiBatchSinkOptions options) : PartWriter
{
    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = false };

    public override long EstimatedBytes => output.Position;

    public override void Append(RecordBatch batch)
    {
        var columns = Columns.Of(batch, options);
        using var w = new Utf8JsonWriter(output, WriterOptions);
        for (var row = 0; row < batch.Length; row++)
        {
            var customId = columns.CustomId.GetString(row);
            var url = columns.Url.GetString(row);
            var hash = Hash(customId);
            w.WriteStartObject();
            w.WriteString("id", $"batch_req_{hash}");
            w.WriteString("custom_id", customId);
            w.WriteStartObject("response");
            w.WriteNumber("status_code", 200);
            w.WriteString("request_id", $"req_{hash}");
            w.WritePropertyName("body");
            switch (url)
            {
                case OpenAiEndpoints.Embeddings:
                    WriteEmbedding(w, columns, batch, row);
                    break;
                case OpenAiEndpoints.ChatCompletions or OpenAiEndpoints.Completions:
                    WriteCompletion(w, columns, batch, row, chat: url == OpenAiEndpoints.ChatCompletions, hash);
                    break;
                default:
                    throw new SluiceException($"openai_batch output: row with custom_id '{customId}' has url '{url}'; accepted: {OpenAiEndpoints.Accepted}");
            }
            w.WriteEndObject();
            w.WriteNull("error");
            w.WriteEndObject();
            w.Flush();
            output.WriteByte((byte)'\n');
            w.Reset(output);
        }
    }

    public override void Finish() => output.Flush();

    private void WriteEmbedding(Utf8JsonWriter w, Columns c, RecordBatch batch, int row)
    {
        var embedding = c.Embedding ?? throw Missing(batch, options.EmbeddingColumn, "embeddings", "embedding_column");
        w.WriteStartObject();
        w.WriteString("object", "list");
        w.WriteStartArray("data");
        w.WriteStartObject();
        w.WriteString("object", "embedding");
        w.WriteNumber("index", 0);
        w.WritePropertyName("embedding");
        JsonValueWriter.Write(w, embedding, row, options.EmbeddingColumn);
        w.WriteEndObject();
        w.WriteEndArray();
        WriteModel(w, c, row);
        if (c.PromptTokens is { } p && Count(p, row) is { } prompt)
        {
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", prompt);
            w.WriteNumber("total_tokens", prompt);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private void WriteCompletion(Utf8JsonWriter w, Columns c, RecordBatch batch, int row, bool chat, string hash)
    {
        var text = c.Text ?? throw Missing(batch, options.TextColumn, chat ? "chat completions" : "completions", "text_column");
        w.WriteStartObject();
        w.WriteString("id", $"{(chat ? "chatcmpl" : "cmpl")}-{hash}");
        w.WriteString("object", chat ? "chat.completion" : "text_completion");
        WriteModel(w, c, row);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        var content = text.IsNull(row) ? null : text.GetString(row);
        if (chat)
        {
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");
            w.WriteString("content", content);
            w.WriteEndObject();
        }
        else
        {
            w.WriteString("text", content);
        }
        if (c.FinishReason is { } f && !f.IsNull(row)) w.WriteString("finish_reason", f.GetString(row));
        else w.WriteNull("finish_reason");
        w.WriteEndObject();
        w.WriteEndArray();
        var prompt = c.PromptTokens is { } p ? Count(p, row) : null;
        var completion = c.CompletionTokens is { } q ? Count(q, row) : null;
        if (prompt is not null && completion is not null)
        {
            w.WriteStartObject("usage");
            w.WriteNumber("prompt_tokens", prompt.Value);
            w.WriteNumber("completion_tokens", completion.Value);
            w.WriteNumber("total_tokens", prompt.Value + completion.Value);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void WriteModel(Utf8JsonWriter w, Columns c, int row)
    {
        if (c.Model is { } m && !m.IsNull(row)) w.WriteString("model", m.GetString(row));
    }

    private static long? Count(IArrowArray array, int row) => array.IsNull(row) ? null : array switch
    {
        Int64Array a => a.GetValue(row),
        Int32Array a => a.GetValue(row),
        _ => null,
    };

    private static SluiceException Missing(RecordBatch batch, string column, string kind, string option) =>
        new($"openai_batch output: {kind} responses need the column '{column}', which the rows do not have (they have: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}); name the column with write.{option}");

    private static string Hash(string customId) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(customId)))[..24];

    /// <summary>The columns a response is made of, found once per batch.</summary>
    private sealed record Columns(StringArray CustomId, StringArray Url, StringArray? Model, IArrowArray? Embedding, StringArray? Text,
        StringArray? FinishReason, IArrowArray? PromptTokens, IArrowArray? CompletionTokens)
    {
        public static Columns Of(RecordBatch batch, OpenAiBatchSinkOptions options) => new(
            Required(batch, "custom_id"), Required(batch, "url"), Optional(batch, "model") as StringArray,
            Optional(batch, options.EmbeddingColumn), Optional(batch, options.TextColumn) as StringArray,
            Optional(batch, "finish_reason") as StringArray, Optional(batch, "prompt_tokens"), Optional(batch, "completion_tokens"));

        private static StringArray Required(RecordBatch batch, string name) =>
            Optional(batch, name) as StringArray ?? throw new SluiceException(
                $"openai_batch output: the rows have no string column '{name}' (they have: {string.Join(", ", batch.Schema.FieldsList.Select(f => f.Name))}); read the requests with read.format openai_batch and keep its columns through the stages");

        private static IArrowArray? Optional(RecordBatch batch, string name) =>
            batch.Schema.GetFieldIndex(name) is var i and >= 0 ? batch.Column(i) : null;
    }
}
