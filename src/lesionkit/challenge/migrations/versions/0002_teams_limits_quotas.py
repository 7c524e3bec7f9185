"""teams with consent, hidden-phase display and caps, storage quotas, job time limit

Revision ID: 0002
Revises: 0001
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.add_column(sa.Column('frozen', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('removed', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_teams_merged_into_id_teams', 'teams', ['merged_into_id'], ['id'])
    op.create_table('team_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('left_at', sa.DateTime(), nullable=True),
    sa.Column('how', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('team_memberships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_memberships_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_memberships_user_id'), ['user_id'], unique=False)
    op.create_table('team_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('team_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_invitations_team_id'), ['team_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_invitations_user_id'), ['user_id'], unique=False)
    # Existing members become members of record (the first of each team its admin).
    op.execute("INSERT INTO team_memberships (team_id, user_id, role, joined_at, how) "
               "SELECT team_id, id, CASE WHEN id = (SELECT MIN(u2.id) FROM users u2 WHERE u2.team_id = users.team_id) "
               "THEN 'admin' ELSE 'member' END, created_at, 'created' FROM users WHERE team_id IS NOT NULL")
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_quota_bytes', sa.BigInteger(), server_default=str(5 * 2**30),
                                      nullable=False))
        batch_op.add_column(sa.Column('total_quota_bytes', sa.BigInteger(), server_default=str(200 * 2**30),
                                      nullable=False))
        batch_op.add_column(sa.Column('job_seconds', sa.Float(), server_default='600.0', nullable=False))
        batch_op.add_column(sa.Column('scores_version', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('phases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_total', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_failed', sa.Integer(), server_default='10', nullable=False))
        batch_op.add_column(sa.Column('shown_metrics', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('significant_digits', sa.Integer(), nullable=True))
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stored_bytes', sa.BigInteger(), server_default='0', nullable=False))
    op.execute("UPDATE submissions SET stored_bytes = upload_bytes")
    # Hidden phases made before this revision get the hidden defaults: ranking metrics only, 3 digits, 10 in all.
    op.execute("UPDATE phases SET shown_metrics = metrics, significant_digits = 3, max_total = 10 "
               "WHERE hidden = " + ("1" if op.get_bind().dialect.name == "sqlite" else "true"))


def downgrade() -> None:
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('stored_bytes')
    with op.batch_alter_table('phases', schema=None) as batch_op:
        for column in ('significant_digits', 'shown_metrics', 'max_failed', 'max_total'):
            batch_op.drop_column(column)
    with op.batch_alter_table('challenges', schema=None) as batch_op:
        for column in ('scores_version', 'job_seconds', 'total_quota_bytes', 'user_quota_bytes'):
            batch_op.drop_column(column)
    op.drop_table('team_invitations')
    op.drop_table('team_memberships')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_constraint('fk_teams_merged_into_id_teams', type_='foreignkey')
        for column in ('merged_into_id', 'removed', 'frozen'):
            batch_op.drop_column(column)
