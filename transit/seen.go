package transit

import (
	"context"

	"github.com/altcrypt/altcrypt/internal/groupcommit"
	"github.com/altcrypt/altcrypt/store"
)

// newSeenGroup gathers concurrent history lookups (pipelined CHECKs, many
// connections) into one store.Seen call: while one call runs, new lookups
// wait and go together in the next. A lone lookup goes at once.
func newSeenGroup(st store.Transit, max int) *groupcommit.Group[string, bool] {
	return groupcommit.New(groupcommit.Config[string, bool]{
		MaxBatch: max,
		Timeout:  DefaultCommitTimeout,
		Commit: func(ctx context.Context, ids []string) ([]bool, error) {
			seen, err := st.Seen(ctx, ids)
			if err != nil {
				return nil, err
			}
			out := make([]bool, len(ids))
			for i, id := range ids {
				out[i] = seen[id]
			}
			return out, nil
		},
	})
}
