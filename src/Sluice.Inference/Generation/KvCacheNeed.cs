using Onnx;

namespace Sluice.Inference.Generation;

/// <summary>
/// A decoder's KV cache at full load, the part of a generate actor's device memory beyond the weights:
/// <see cref="Rows"/> (max_batch) x <see cref="Tokens"/> (the context a row can reach) x layers x 2 (key and value) x
/// kv heads x head size x element size. The shapes are the model's <c>past_key_values.0.key</c> input
/// [batch, kv_heads, past, head]; the context is genai_config.json's <c>context_length</c>, or, without one,
/// max_new_tokens alone (the prompts' share is then not counted, and <see cref="Describe"/> says so).
/// The continuous batch right-aligns its rows, so at full load every row spans the longest row's columns.
/// </summary>
internal sealed record KvCacheNeed(int Rows, int Tokens, int Layers, long KvHeads, long HeadSize, int ElementBytes, bool ContextKnown)
{
    public long Bytes => Rows * Tokens * Layers * 2L * KvHeads * HeadSize * ElementBytes;

    public string Describe() =>
        $"KV cache (max_batch {Rows} x {Tokens} tokens x {Layers} layers x 2 x {KvHeads} kv heads x {HeadSize} x {ElementBytes} B" +
        $"{(ContextKnown ? "" : "; tokens: max_new_tokens alone, as genai_config.json gives no context_length")})";

    /// <summary>The need of <paramref name="options"/>' decoder; null when its KV input has no fixed kv_heads and head size (the actor's start refuses it).</summary>
    public static KvCacheNeed? Of(GenerateOptions options, ModelProto model)
    {
        var inputs = model.Graph.Input.ToDictionary(i => i.Name, StringComparer.Ordinal);
        if (!inputs.TryGetValue("past_key_values.0.key", out var key) || key.Type?.TensorType is not { } tensor || tensor.Shape?.Dim is not { Count: 4 } dims) return null;
        var (kvHeads, head) = (dims[1].DimValue, dims[3].DimValue);
        if (kvHeads <= 0 || head <= 0) return null;
        var layers = inputs.Keys.Count(k => k.StartsWith("past_key_values.", StringComparison.Ordinal) && k.EndsWith(".key", StringComparison.Ordinal));
        int? context;
        try
        {
            context = GenerationModel.ReadConfig(GenerationModel.ConfigPath(options)).Context;
        }
        catch (SluiceException)
        {
            context = null; // the actor's start says what is wrong with the file
        }
        return new KvCacheNeed(options.MaxBatch, context ?? options.MaxNewTokens, layers, kvHeads, head, BytesOf(tensor.ElemType), context is not null);
    }

    private static int BytesOf(int type) => (TensorProto.Types.DataType)type switch
    {
        TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 => 2,
        TensorProto.Types.DataType.Double => 8,
        _ => 4,
    };
}
