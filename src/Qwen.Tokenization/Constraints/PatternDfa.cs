namespace Qwen.Tokenization.Constraints;

/// <summary>
/// A minimal DFA over code points with only live states (each can still reach acceptance), built eagerly from a
/// <see cref="PatternNfa"/> by subset construction, then minimized (Hopcroft). Each state's transitions are a sorted
/// table of disjoint code-point ranges, so a step is a binary search; a code point outside every range is a dead end.
/// State 0 is the start, kept even when dead (then it has no transitions and the pattern matches nothing).
/// Immutable after construction, so one instance may be shared between threads.
/// </summary>
internal sealed class PatternDfa
{
    /// <summary>The most DFA states built before a pattern is refused (subset construction can blow up exponentially).</summary>
    public const int MaxStates = 4096;

    private readonly bool[] _accepting;
    private readonly int[] _rowStart; // transitions of state s are [_rowStart[s], _rowStart[s + 1])
    private readonly int[] _lo;
    private readonly int[] _hi;
    private readonly int[] _target;

    private PatternDfa(bool[] accepting, int[] rowStart, int[] lo, int[] hi, int[] target)
    {
        _accepting = accepting;
        _rowStart = rowStart;
        _lo = lo;
        _hi = hi;
        _target = target;
    }

    /// <summary>The number of states.</summary>
    public int StateCount => _accepting.Length;

    /// <summary>Whether the code points read so far form a match.</summary>
    public bool IsAccepting(int state) => _accepting[state];

    /// <summary>The number of transitions leaving <paramref name="state"/>.</summary>
    public int TransitionCount(int state) => _rowStart[state + 1] - _rowStart[state];

    /// <summary>Transition <paramref name="i"/> of <paramref name="state"/>: its code-point range and target.</summary>
    public (int Lo, int Hi, int Target) Transition(int state, int i)
    {
        var t = _rowStart[state] + i;
        return (_lo[t], _hi[t], _target[t]);
    }

    /// <summary>The state after <paramref name="codePoint"/>, or -1 when no match can continue.</summary>
    public int Next(int state, int codePoint)
    {
        int lo = _rowStart[state], hi = _rowStart[state + 1] - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (codePoint < _lo[mid])
            {
                hi = mid - 1;
            }
            else if (codePoint > _hi[mid])
            {
                lo = mid + 1;
            }
            else
            {
                return _target[mid];
            }
        }
        return -1;
    }

    /// <summary>The DFA of <paramref name="nfa"/> without dead states; throws <see cref="NotSupportedException"/> past <see cref="MaxStates"/>.</summary>
    public static PatternDfa FromNfa(PatternNfa nfa)
    {
        var closures = new int[]?[nfa.StateCount];
        var mark = new int[nfa.StateCount]; // generation stamp per NFA state, to build sets without clearing
        var generation = 0;
        var universal = new bool[nfa.StateCount];
        foreach (var u in nfa.UniversalStates)
        {
            universal[u] = true;
        }
        var ids = new Dictionary<int[], int>(IntArrayComparer.Instance);
        var sets = new List<int[]>();
        var rows = new List<List<(int Lo, int Hi, int Target)>>();

        int Intern(IEnumerable<int> nfaStates)
        {
            generation++;
            var members = new List<int>();
            foreach (var s in nfaStates)
            {
                foreach (var c in closures[s] ??= Closure(nfa, s))
                {
                    if (mark[c] != generation)
                    {
                        mark[c] = generation;
                        members.Add(c);
                    }
                }
            }
            if (members.Exists(m => universal[m]))
            {
                // Every universal state accepts every string, so one canonical set stands for all of them.
                var canonical = nfa.UniversalStates[0];
                members = [.. closures[canonical] ??= Closure(nfa, canonical)];
            }
            members.Sort();
            var key = members.ToArray();
            if (!ids.TryGetValue(key, out var id))
            {
                if (sets.Count == MaxStates)
                {
                    throw new NotSupportedException($"the pattern is too complex: its automaton needs more than {MaxStates} states");
                }
                id = sets.Count;
                ids.Add(key, id);
                sets.Add(key);
            }
            return id;
        }

        Intern([nfa.Start]);
        for (var d = 0; d < sets.Count; d++)
        {
            rows.Add(BuildRow(nfa, sets[d], Intern));
        }

        var accepting = sets.Select(s => Array.BinarySearch(s, nfa.Accept) >= 0).ToArray();
        return WithoutDeadStates(accepting, rows).Minimized();
    }

    /// <summary>The epsilon closure of one NFA state, sorted.</summary>
    private static int[] Closure(PatternNfa nfa, int state)
    {
        var seen = new HashSet<int> { state };
        var stack = new Stack<int>();
        stack.Push(state);
        while (stack.Count > 0)
        {
            foreach (var next in nfa.EpsilonFrom(stack.Pop()))
            {
                if (seen.Add(next))
                {
                    stack.Push(next);
                }
            }
        }
        var result = seen.ToArray();
        Array.Sort(result);
        return result;
    }

    /// <summary>The transitions of one DFA state: its members' edges split at every range boundary, then adjacent equal targets merged.</summary>
    private static List<(int Lo, int Hi, int Target)> BuildRow(PatternNfa nfa, int[] members, Func<IEnumerable<int>, int> intern)
    {
        var edges = members.SelectMany(nfa.EdgesFrom).ToList();
        var points = edges.Select(e => e.Lo).Concat(edges.Select(e => e.Hi + 1)).Distinct().Order().ToArray();
        var targets = new List<int>[Math.Max(points.Length - 1, 0)];
        foreach (var (lo, hi, target) in edges)
        {
            for (var i = Array.BinarySearch(points, lo); i < points.Length - 1 && points[i] <= hi; i++)
            {
                (targets[i] ??= []).Add(target);
            }
        }
        var row = new List<(int Lo, int Hi, int Target)>();
        for (var i = 0; i < targets.Length; i++)
        {
            if (targets[i] is null)
            {
                continue;
            }
            var next = intern(targets[i]);
            if (row.Count > 0 && row[^1].Target == next && row[^1].Hi + 1 == points[i])
            {
                row[^1] = (row[^1].Lo, points[i + 1] - 1, next);
            }
            else
            {
                row.Add((points[i], points[i + 1] - 1, next));
            }
        }
        return row;
    }

    /// <summary>
    /// The equivalent DFA with the fewest states (Hopcroft): code points are grouped into classes no transition
    /// boundary splits, a missing transition goes to an extra sink state, and blocks (first: accepting, other) are
    /// split by the predecessors of a block on one class until no split remains, in O(classes · n log n).
    /// </summary>
    private PatternDfa Minimized()
    {
        var n = StateCount;
        var sink = n;
        var points = _lo.Concat(_hi.Select(h => h + 1)).Distinct().Order().ToArray();
        var classes = Math.Max(points.Length - 1, 0);
        var delta = new int[(n + 1) * classes]; // [state, class] -> target, sink when none
        Array.Fill(delta, sink);
        for (var s = 0; s < n; s++)
        {
            for (var i = _rowStart[s]; i < _rowStart[s + 1]; i++)
            {
                for (var c = Array.BinarySearch(points, _lo[i]); c < classes && points[c] <= _hi[i]; c++)
                {
                    delta[(s * classes) + c] = _target[i];
                }
            }
        }

        // Predecessors per (class, target) in one array: preds[predStart[c * (n + 1) + t] ..] are the states stepping to t on c.
        var predStart = new int[(classes * (n + 1)) + 1];
        for (var s = 0; s <= n; s++)
        {
            for (var c = 0; c < classes; c++)
            {
                predStart[(c * (n + 1)) + delta[(s * classes) + c] + 1]++;
            }
        }
        for (var i = 1; i < predStart.Length; i++)
        {
            predStart[i] += predStart[i - 1];
        }
        var preds = new int[predStart[^1]];
        var fill = predStart[..^1];
        for (var s = 0; s <= n; s++)
        {
            for (var c = 0; c < classes; c++)
            {
                preds[fill[(c * (n + 1)) + delta[(s * classes) + c]]++] = s;
            }
        }

        var block = new int[n + 1];
        var members = new List<List<int>>();
        foreach (var group in Enumerable.Range(0, n + 1).GroupBy(s => s < n && _accepting[s]))
        {
            foreach (var s in group)
            {
                block[s] = members.Count;
            }
            members.Add([.. group]);
        }
        var inWork = new List<bool>();
        var work = new Stack<int>();
        for (var b = 0; b < members.Count; b++)
        {
            inWork.Add(true);
            work.Push(b);
        }
        var touched = new Dictionary<int, List<int>>();
        while (work.Count > 0)
        {
            var splitter = work.Pop();
            inWork[splitter] = false;
            var targets = members[splitter].ToArray();
            for (var c = 0; c < classes; c++)
            {
                touched.Clear();
                foreach (var t in targets)
                {
                    for (var i = predStart[(c * (n + 1)) + t]; i < predStart[(c * (n + 1)) + t + 1]; i++)
                    {
                        var p = preds[i];
                        (touched.TryGetValue(block[p], out var list) ? list : touched[block[p]] = []).Add(p);
                    }
                }
                foreach (var (y, inside) in touched)
                {
                    if (inside.Count == members[y].Count)
                    {
                        continue;
                    }
                    var z = members.Count;
                    var insideSet = inside.ToHashSet();
                    members.Add(inside);
                    members[y] = members[y].Where(s => !insideSet.Contains(s)).ToList();
                    foreach (var s in inside)
                    {
                        block[s] = z;
                    }
                    var addZ = inWork[y] || inside.Count <= members[y].Count;
                    inWork.Add(addZ);
                    if (addZ)
                    {
                        work.Push(z);
                    }
                    else
                    {
                        inWork[y] = true;
                        work.Push(y);
                    }
                }
            }
        }

        // Renumber blocks in order of their first state, so the start's block is 0; the sink's block is dropped
        // (only a dead start can share it).
        var newId = new int[members.Count];
        Array.Fill(newId, -1);
        var count = 0;
        for (var s = 0; s < n; s++)
        {
            if (newId[block[s]] < 0)
            {
                newId[block[s]] = count++;
            }
        }
        var accepting = new bool[count];
        var rowStart = new int[count + 1];
        List<int> lo = [], hi = [], target = [];
        var done = new bool[count];
        for (var s = 0; s < n; s++)
        {
            var id = newId[block[s]];
            if (done[id])
            {
                continue;
            }
            // Blocks are numbered in state order, so representatives come in id order and rows stay contiguous.
            done[id] = true;
            accepting[id] = _accepting[s];
            rowStart[id] = lo.Count;
            for (var c = 0; c < classes; c++)
            {
                var t = delta[(s * classes) + c];
                if (block[t] == block[sink])
                {
                    continue;
                }
                var next = newId[block[t]];
                if (lo.Count > rowStart[id] && target[^1] == next && hi[^1] + 1 == points[c])
                {
                    hi[^1] = points[c + 1] - 1;
                }
                else
                {
                    lo.Add(points[c]);
                    hi.Add(points[c + 1] - 1);
                    target.Add(next);
                }
            }
        }
        rowStart[count] = lo.Count;
        return new PatternDfa(accepting, rowStart, [.. lo], [.. hi], [.. target]);
    }

    /// <summary>Keeps the start and the states that can reach acceptance, renumbered in order; edges into dead states are dropped.</summary>
    private static PatternDfa WithoutDeadStates(bool[] accepting, List<List<(int Lo, int Hi, int Target)>> rows)
    {
        var n = accepting.Length;
        var predecessors = new List<int>[n];
        for (var s = 0; s < n; s++)
        {
            foreach (var (_, _, t) in rows[s])
            {
                (predecessors[t] ??= []).Add(s);
            }
        }
        var live = new bool[n];
        var queue = new Queue<int>();
        for (var s = 0; s < n; s++)
        {
            if (accepting[s])
            {
                live[s] = true;
                queue.Enqueue(s);
            }
        }
        while (queue.Count > 0)
        {
            foreach (var p in predecessors[queue.Dequeue()] ?? [])
            {
                if (!live[p])
                {
                    live[p] = true;
                    queue.Enqueue(p);
                }
            }
        }

        var newId = new int[n];
        var count = 0;
        for (var s = 0; s < n; s++)
        {
            newId[s] = s == 0 || live[s] ? count++ : -1;
        }
        var newAccepting = new bool[count];
        var rowStart = new int[count + 1];
        List<int> lo = [], hi = [], target = [];
        for (var s = 0; s < n; s++)
        {
            if (newId[s] < 0)
            {
                continue;
            }
            newAccepting[newId[s]] = accepting[s];
            rowStart[newId[s]] = lo.Count;
            foreach (var (l, h, t) in rows[s])
            {
                if (live[t])
                {
                    lo.Add(l);
                    hi.Add(h);
                    target.Add(newId[t]);
                }
            }
        }
        rowStart[count] = lo.Count;
        return new PatternDfa(newAccepting, rowStart, [.. lo], [.. hi], [.. target]);
    }
}
