"""memory sessions and the legacy document

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('legacy_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('given_at', sa.DateTime(), nullable=False),
    sa.Column('explained', sa.Text(), nullable=False),
    sa.Column('explained_id', sa.String(length=40), nullable=False),
    sa.Column('proxy_name', sa.String(length=200), nullable=False),
    sa.Column('share_with_clinician', sa.Boolean(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
    sa.Column('withdrawal_choice', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legacy_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_consents_patient_id'), ['patient_id'], unique=False)

    op.create_table('legacy_interviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('consent_id', sa.Integer(), nullable=False),
    sa.Column('question_index', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('sittings', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['consent_id'], ['legacy_consents.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legacy_interviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_interviews_patient_id'), ['patient_id'], unique=False)

    op.create_table('legacy_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('turn_id', sa.Integer(), nullable=False),
    sa.Column('question', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=10), nullable=False),
    sa.Column('recording', sa.LargeBinary(), nullable=True),
    sa.Column('recording_name', sa.String(length=200), nullable=False),
    sa.Column('held_back', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['legacy_interviews.id'], ),
    sa.ForeignKeyConstraint(['turn_id'], ['turns.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legacy_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_answers_interview_id'), ['interview_id'], unique=False)

    op.create_table('legacy_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('interview_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('titles_by', sa.String(length=60), nullable=False),
    sa.Column('check', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('approved_by', sa.String(length=200), nullable=True),
    sa.Column('approved_at', sa.DateTime(), nullable=True),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['interview_id'], ['legacy_interviews.id'], ),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legacy_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_documents_patient_id'), ['patient_id'], unique=False)

    op.create_table('legacy_paragraphs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('question', sa.Integer(), nullable=False),
    sa.Column('section_title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('source_turn_ids', sa.JSON(), nullable=False),
    sa.Column('original_text', sa.Text(), nullable=False),
    sa.Column('edited_by', sa.String(length=200), nullable=True),
    sa.Column('edited_at', sa.DateTime(), nullable=True),
    sa.Column('removed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['legacy_documents.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('legacy_paragraphs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_paragraphs_document_id'), ['document_id'], unique=False)


def downgrade() -> None:
    indexed = {'legacy_paragraphs': 'document_id', 'legacy_documents': 'patient_id',
               'legacy_answers': 'interview_id', 'legacy_interviews': 'patient_id',
               'legacy_consents': 'patient_id'}
    for table, column in indexed.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_{column}'))
        op.drop_table(table)
