using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference.Generation;

/// <summary>The two Runs of a generation loop over a <see cref="GenerationModel"/>: a prefill of one or more prompts, and one decode step of a batch.</summary>
internal sealed class DecoderRunner(GenerationModel model)
{
    public GenerationModel Model => model;

    /// <summary>
    /// Runs <paramref name="prompts"/> together from an empty cache, right-padded to the longest: row r's tokens sit at
    /// columns and positions 0..n-1, its pads after them, masked (attention_mask 0), so its real queries see exactly what
    /// they would alone (the graph's causal mask is by column). Left padding would move a row's positions, and GenAI-style
    /// exports attend pads then: silently wrong (research/genai.md). A pad query's output is never read. Returns the cache,
    /// each row's tokens in its first n columns (<see cref="KvCache.Left"/>), and the logits of each row's last real position.
    /// </summary>
    public (KvCache Cache, float[][] Logits) Prefill(IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        var rows = prompts.Count;
        var width = prompts.Max(p => p.Count);
        var ids = new long[rows * width];
        var positions = new long[rows * width];
        var mask = new long[rows * width];
        for (var r = 0; r < rows; r++)
        {
            var prompt = prompts[r];
            for (var i = 0; i < width; i++)
            {
                var real = i < prompt.Count;
                // A pad: token 0 (in every vocabulary), its column's position (within the context: width <= the longest prompt).
                (ids[r * width + i], positions[r * width + i], mask[r * width + i]) = (real ? prompt[i] : 0, i, real ? 1 : 0);
            }
        }
        using var empty = KvCache.Empty(rows, model.Layers, model.KvHeads, model.HeadSize);
        var outputs = Run(ids, mask, positions, rows, width, empty);
        var logits = outputs[0].GetTensorDataAsSpan<float>();
        var vocab = logits.Length / (rows * width);
        var last = new float[rows][];
        for (var r = 0; r < rows; r++) last[r] = logits.Slice((r * width + prompts[r].Count - 1) * vocab, vocab).ToArray();
        return (KvCache.FromOutputs(outputs, rows, width), last);
    }

    /// <summary>
    /// One decode step: each row's last token at position <c>cached[r]</c>, attending its own last <c>cached[r]</c>
    /// columns of <paramref name="cache"/> and itself. Returns the grown cache (the Run's present.*, no copy) and the
    /// logits [rows, vocab].
    /// </summary>
    public (KvCache Cache, OrtValue Logits) Step(KvCache cache, IReadOnlyList<int> lastTokens, IReadOnlyList<int> cached)
    {
        var rows = cache.Rows;
        var total = cache.Columns + 1;
        var ids = new long[rows];
        var positions = new long[rows];
        var mask = new long[rows * total];
        for (var r = 0; r < rows; r++)
        {
            ids[r] = lastTokens[r];
            positions[r] = cached[r];
            mask.AsSpan(r * total + total - cached[r] - 1, cached[r] + 1).Fill(1);
        }
        var outputs = Run(ids, mask, positions, rows, 1, cache);
        return (KvCache.FromOutputs(outputs, rows, total), outputs[0]);
    }

    private IDisposableReadOnlyCollection<OrtValue> Run(long[] ids, long[] mask, long[] positions, int rows, int seq, KvCache past)
    {
        var total = mask.Length / rows;
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [rows, seq]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [rows, total]);
        using var positionsValue = OrtValue.CreateTensorValueFromMemory(positions, [rows, seq]);
        OrtValue[] inputs = [idsValue, maskValue, positionsValue, .. past.Values];
        try
        {
            using var runOptions = new RunOptions();
            return model.Runner.Run(runOptions, model.InputNames, inputs, model.OutputNames);
        }
        catch (OnnxRuntimeException e)
        {
            throw new SluiceException($"model '{model.Path}' failed on a generation step of {rows} rows x {seq} tokens over {total} columns: {e.Message}", e);
        }
    }
}
