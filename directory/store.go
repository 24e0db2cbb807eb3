package directory

import "context"

// Store keeps services. It is the source of truth: the search index is built from it.
type Store interface {
	GetService(ctx context.Context, id string) (*Service, error)
	// Services returns the services with these ids in the same order, leaving out missing ones.
	Services(ctx context.Context, ids []string) ([]*Service, error)
	// EachService calls fn for every service until fn returns an error.
	EachService(ctx context.Context, fn func(*Service) error) error
	SaveServices(ctx context.Context, services ...*Service) error
	DeleteService(ctx context.Context, id string) error
	CountServices(ctx context.Context) (int, error)
}
