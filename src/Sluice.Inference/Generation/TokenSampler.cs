namespace Sluice.Inference.Generation;

/// <summary>
/// Picks a row's next token from its logits: greedy (temperature 0: the first most likely token) or sampled from the
/// softmax of logits / temperature, cut to top_k and top_p. Each row has its own generator (<see cref="RowRandom"/>),
/// one draw per token, so a row's tokens depend only on its seed, never on the rows beside it.
/// </summary>
internal sealed class TokenSampler(double temperature, int topK, double topP)
{
    public bool Greedy => temperature <= 0;

    public int Next(ReadOnlySpan<float> logits, ref RowRandom random)
    {
        if (Greedy) return ArgMax(logits);
        var order = new int[logits.Length];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var keys = logits.ToArray();
        // Descending by logit, ties by id: a stable order makes the draw reproducible.
        Array.Sort(order, (a, b) => keys[b].CompareTo(keys[a]) is var c && c != 0 ? c : a.CompareTo(b));
        var count = topK > 0 ? Math.Min(topK, order.Length) : order.Length;
        var max = keys[order[0]];
        var probabilities = new double[count];
        var sum = 0.0;
        for (var i = 0; i < count; i++) sum += probabilities[i] = Math.Exp((keys[order[i]] - max) / temperature);
        var kept = count;
        if (topP < 1)
        {
            var cumulative = 0.0;
            for (var i = 0; i < count; i++)
            {
                cumulative += probabilities[i] / sum;
                if (cumulative >= topP) { kept = i + 1; break; }
            }
            sum = 0;
            for (var i = 0; i < kept; i++) sum += probabilities[i];
        }
        var u = random.NextDouble() * sum;
        for (var i = 0; i < kept; i++)
        {
            u -= probabilities[i];
            if (u < 0) return order[i];
        }
        return order[kept - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
}

/// <summary>SplitMix64: a small generator whose sequence is fixed by its seed on every runtime.</summary>
internal struct RowRandom(ulong state)
{
    private ulong _state = state;

    /// <summary>The generator of a row: the job's seed, the row's prompt tokens and, when given, its key (a seed column's value).</summary>
    public static RowRandom For(long seed, IReadOnlyList<int> prompt, string? key = null)
    {
        var h = (ulong)seed ^ 0x9E3779B97F4A7C15UL;
        foreach (var t in prompt) h = Mix(h ^ (uint)t);
        if (key is not null)
        {
            h = Mix(h ^ 0xA5A5A5A5UL);
            foreach (var c in key) h = Mix(h ^ c);
        }
        return new RowRandom(Mix(h ^ (ulong)prompt.Count));
    }

    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    private ulong Next() => Mix(_state += 0x9E3779B97F4A7C15UL);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
