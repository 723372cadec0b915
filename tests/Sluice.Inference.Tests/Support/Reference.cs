using FastBertTokenizer;
using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference.Tests;

/// <summary>
/// Sentence embeddings computed the plain way, without Sluice: tokens padded to a fixed length,
/// the whole padded sequence through the model, mask-weighted mean, L2 norm (in double).
/// </summary>
internal static class Reference
{
    public static async Task<float[][]> EmbedAsync(PackagedModelFiles files, IReadOnlyList<string> texts, int length = 128)
    {
        var tokenizer = new BertTokenizer();
        await tokenizer.LoadVocabularyAsync(files.Vocab, convertInputToLowercase: true);
        var rows = texts.Count;
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        var types = new long[rows * length];
        for (var i = 0; i < rows; i++)
            tokenizer.Encode(texts[i], ids.AsSpan(i * length, length), mask.AsSpan(i * length, length), types.AsSpan(i * length, length), padTo: length);

        using var session = new InferenceSession(files.Model);
        long[] shape = [rows, length];
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, shape);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, shape);
        using var typesValue = OrtValue.CreateTensorValueFromMemory(types, shape);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["input_ids", "attention_mask", "token_type_ids"], [idsValue, maskValue, typesValue], ["last_hidden_state"]);
        var hidden = outputs[0].GetTensorDataAsSpan<float>();
        var size = (int)outputs[0].GetTensorTypeAndShape().Shape[2];

        var result = new float[rows][];
        for (var i = 0; i < rows; i++)
        {
            var sum = new double[size];
            double count = 0;
            for (var t = 0; t < length; t++)
            {
                if (mask[i * length + t] == 0) continue;
                count++;
                for (var k = 0; k < size; k++) sum[k] += hidden[(i * length + t) * size + k];
            }
            var norm = Math.Sqrt(sum.Sum(v => (v / count) * (v / count)));
            result[i] = sum.Select(v => (float)(v / count / norm)).ToArray();
        }
        return result;
    }
}
