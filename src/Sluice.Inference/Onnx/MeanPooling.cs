namespace Sluice.Inference;

/// <summary>Sentence-transformers pooling: the mask-weighted mean of token vectors, optionally L2-normalized.</summary>
internal static class MeanPooling
{
    // The same floors sentence-transformers uses (torch.clamp(min=1e-9), F.normalize eps=1e-12):
    // they only matter for an all-padding row or a zero vector, which then stay zero instead of NaN.
    private const float MinTokens = 1e-9f;
    private const float MinNorm = 1e-12f;

    /// <param name="hidden">[rows, sequence, size] token vectors.</param>
    /// <param name="mask">[rows, maskStride] with the first <paramref name="sequence"/> positions of each row used; empty: all tokens count.</param>
    public static float[] Pool(ReadOnlySpan<float> hidden, int rows, int sequence, int size, ReadOnlySpan<long> mask, int maskStride, bool normalize)
    {
        var pooled = new float[rows * size];
        for (var row = 0; row < rows; row++)
        {
            var target = pooled.AsSpan(row * size, size);
            var tokens = 0f;
            for (var t = 0; t < sequence; t++)
            {
                float weight = mask.IsEmpty ? 1 : mask[row * maskStride + t];
                if (weight == 0) continue;
                tokens += weight;
                var vector = hidden.Slice((row * sequence + t) * size, size);
                for (var k = 0; k < size; k++) target[k] += weight * vector[k];
            }
            var scale = 1 / Math.Max(tokens, MinTokens);
            for (var k = 0; k < size; k++) target[k] *= scale;
            if (normalize) Normalize(target);
        }
        return pooled;
    }

    private static void Normalize(Span<float> vector)
    {
        var sum = 0.0;
        foreach (var v in vector) sum += (double)v * v;
        var scale = (float)(1 / Math.Max(Math.Sqrt(sum), MinNorm));
        for (var k = 0; k < vector.Length; k++) vector[k] *= scale;
    }
}
