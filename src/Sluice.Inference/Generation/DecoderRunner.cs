using Microsoft.ML.OnnxRuntime;

namespace Sluice.Inference.Generation;

/// <summary>The two Runs of a generation loop over a <see cref="GenerationModel"/>: a prefill of one prompt, and one decode step of a batch.</summary>
internal sealed class DecoderRunner(GenerationModel model)
{
    public GenerationModel Model => model;

    /// <summary>Runs <paramref name="prompt"/> alone from an empty cache; returns its cache and the logits of its last position.</summary>
    public (KvCache Cache, float[] Logits) Prefill(IReadOnlyList<int> prompt)
    {
        var s = prompt.Count;
        var ids = new long[s];
        var positions = new long[s];
        var mask = new long[s];
        for (var i = 0; i < s; i++) (ids[i], positions[i], mask[i]) = (prompt[i], i, 1);
        using var empty = KvCache.Empty(1, model.Layers, model.KvHeads, model.HeadSize);
        var outputs = Run(ids, mask, positions, 1, s, empty);
        var logits = outputs[0].GetTensorDataAsSpan<float>();
        var vocab = logits.Length / s;
        var last = logits.Slice((s - 1) * vocab, vocab).ToArray();
        return (KvCache.FromOutputs(outputs, 1, s), last);
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
